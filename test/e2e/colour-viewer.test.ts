import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';

/**
 * Colour images in the window: skimage's ihc.png and a quality-20 JPEG of it (both stating 0.2 mm
 * pixels), imported as plain images, opened side by side; zoom 1:1 with nearest-neighbour pixels, gamma,
 * swipe, and the CIEDE2000 difference map with its colour bar and histograms. Screenshots under
 * test-output/screenshots.
 */
const MAKE = `
import sys, os, skimage
from PIL import Image
im = Image.open(os.path.join(os.path.dirname(skimage.__file__), 'data', 'ihc.png')).convert('RGB')
im.save(os.path.join(sys.argv[1], 'ihc.png'), dpi=(127, 127))
im.save(os.path.join(sys.argv[1], 'ihc_q20.jpg'), quality=20, dpi=(127, 127))
`;

async function colouredShare(page: Page, pane: 'original' | 'generated'): Promise<number> {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="viewport-${id}"] canvas`) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    let n = 0;
    for (let k = 0; k < d.length; k += 16) {
      n += 1;
      if (Math.max(Math.abs(d[k]! - d[k + 1]!), Math.abs(d[k + 1]! - d[k + 2]!)) > 20) coloured += 1;
    }
    return coloured / n;
  }, pane);
}

describe('colour images in the viewer', () => {
  let session: BrowserSession;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-colour-'));
    mkdirSync(path.join(dir, 'files'));
    execFileSync('/usr/bin/python3', ['-c', MAKE, path.join(dir, 'files')], { stdio: ['ignore', 'ignore', 'inherit'] });
    session = await openBrowserSession();
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
  });

  it('imports PNG and JPEG, zooms 1:1, swipes and shows the ΔE map', async () => {
    await page.getByTestId('import-paths').fill(path.join(dir, 'files'));
    await page.getByTestId('import-button').click();
    await expect.poll(async () => page.getByTestId('import-report').getAttribute('data-imported'), { timeout: 60_000 }).toBe('2');
    const items = page.getByTestId('series');
    await items.nth(1).waitFor();
    await items.nth(0).locator('canvas, .thumb').first().click();
    await items.nth(1).locator('canvas, .thumb').first().click({ modifiers: ['Shift'] });
    for (const id of ['original', 'generated'] as const) {
      await expect.poll(async () => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 30_000 }).toBe('rendered');
    }
    await expect.poll(async () => colouredShare(page, 'original'), { timeout: 10_000 }).toBeGreaterThan(0.2);
    await page.getByTestId('viewport-original').click();
    await expect(page.getByTestId('colour-controls')).toBeDefined();
    await page.getByTestId('colour-controls').waitFor();
    await page.getByTestId('zoom-1to1').click();
    await expect.poll(async () => page.getByTestId('zoom-original').textContent()).toBe('Zoom 100%');
    // Both images state 0.2 mm pixels: the linked pane follows in mm, so it is at 1:1 too.
    await expect.poll(async () => page.getByTestId('zoom-generated').textContent(), { timeout: 10_000 }).toBe('Zoom 100%');
    await page.getByTestId('nearest').click();
    // A 4-pixel line at 1:1 on 0.2 mm pixels: 0.8 mm, shown in µm.
    await page.getByTestId('tool-length').click();
    const box = (await page.getByTestId('viewport-original').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 2, cy, { steps: 2 });
    await page.mouse.move(cx + 4, cy, { steps: 2 });
    await page.mouse.up();
    const length = page.getByTestId('measurement').first();
    await expect.poll(async () => length.getAttribute('data-unit'), { timeout: 10_000 }).toBe('µm');
    expect(Number(await length.getAttribute('data-value'))).toBeGreaterThan(500);
    expect(Number(await length.getAttribute('data-value'))).toBeLessThan(1000);
    await screenshot(page, 'colour-1to1-nearest');
    await page.getByTestId('colour-gamma').fill('2');
    await screenshot(page, 'colour-gamma-2');
    await page.getByTestId('mode-swipe').click();
    await screenshot(page, 'colour-swipe');
    await page.getByTestId('mode-difference').click();
    const map = page.getByTestId('difference-map');
    await expect.poll(async () => map.getAttribute('data-kind')).toBe('ciede2000');
    // Both files state 0.2 mm pixels (127 dpi: whole numbers in JFIF and PNG alike), so the panes align
    // pixel for pixel: the mean ΔE over the view is that of a quality-20 JPEG (skimage gives 4.2 over the whole image), not of misplaced tissue.
    await expect.poll(async () => Number(await map.getAttribute('data-mean')), { timeout: 10_000 }).toBeGreaterThan(0.5);
    expect(Number(await map.getAttribute('data-mean'))).toBeLessThan(6);
    await page.getByTestId('histogram-original').waitFor();
    await page.getByTestId('histogram-generated').waitFor();
    await screenshot(page, 'colour-deltae');
    expect(session.pageErrors).toEqual([]);
  });
});
