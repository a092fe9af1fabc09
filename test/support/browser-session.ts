import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode, type BrowserModeOptions } from '../../src-main/browser-mode';
import { launchChromium } from './chromium';

/** Builds the renderer once per test process if it is missing or older than its sources. */
export function ensureRendererBuilt(): void {
  if (process.env.HEALTHGPT_SKIP_RENDERER_BUILD && existsSync('dist/renderer/index.html')) return;
  if (!existsSync('dist/renderer/index.html') || process.env.HEALTHGPT_REBUILD_RENDERER) {
    // vitest sets NODE_ENV=test, which would make Vite bundle React's development build (jsxDEV, owner
    // stacks): build what ships.
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  }
}

export interface BrowserSession {
  mode: BrowserMode;
  browser: Browser;
  page: Page;
  pageErrors: string[];
  close(): Promise<void>;
}

/** The real main-process services in browser mode plus a Chromium page connected to them. */
export async function openBrowserSession(
  options: BrowserModeOptions & { viewport?: { width: number; height: number } } = {},
): Promise<BrowserSession> {
  ensureRendererBuilt();
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'healthgpt-e2e-'));
  const mode = await startBrowserMode({ ...options, dataDir });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1920, height: 1080 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(mode.url);
  return {
    mode,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await mode.close();
    },
  };
}
