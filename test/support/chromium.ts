import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.HEALTHGPT_CHROMIUM ?? '/usr/bin/chromium';
export const TEST_OUTPUT = path.resolve('test-output');

/** Everything that would phone home or need a GPU or sandbox switched off. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-default-apps',
  '--disable-extensions',
];

/**
 * Debian's Chromium, headless, with everything that would phone home switched off and a fresh profile.
 * Playwright never downloads a browser here.
 */
export async function launchChromium(): Promise<Browser> {
  // chromium.launch gives every launch a fresh, empty --user-data-dir of its own (deleted on close).
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(TEST_OUTPUT, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
