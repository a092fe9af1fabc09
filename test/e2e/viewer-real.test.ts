import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';

/**
 * Real files from Debian's python3-pydicom in the viewer: a CT, an MR, an RGB JPEG secondary capture,
 * a JPEG 2000 image and a multi-frame 32-bit RT dose. Each opens and draws real pixels (not a blank
 * canvas) without page errors; presets follow the modality.
 */
const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'JPEG2000.dcm', 'rtdose.dcm'];

async function canvasStats(page: Page): Promise<{ std: number; coloured: number }> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="viewport-original"] canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    let sum = 0;
    let sum2 = 0;
    let coloured = 0;
    for (let k = 0; k < d.length; k += 16) {
      const r = d[k] ?? 0;
      const g = d[k + 1] ?? 0;
      const b = d[k + 2] ?? 0;
      const v = (r + g + b) / 3;
      n += 1;
      sum += v;
      sum2 += v * v;
      if (Math.max(Math.abs(r - g), Math.abs(g - b), Math.abs(r - b)) > 30) coloured += 1;
    }
    const mean = sum / n;
    return { std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), coloured };
  });
}

describe('viewer on real pydicom test files', () => {
  let session: BrowserSession;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-viewer-real-'));
    mkdirSync(path.join(dir, 'files'));
    for (const f of FILES) copyFileSync(path.join(PYDICOM_FILES, f), path.join(dir, 'files', f));
    session = await openBrowserSession();
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
  });

  it('opens every series and draws its pixels; presets follow the modality', async () => {
    await page.getByTestId('import-paths').fill(path.join(dir, 'files'));
    await page.getByTestId('import-button').click();
    await expect.poll(async () => page.getByTestId('import-report').getAttribute('data-imported'), { timeout: 60_000 }).toBe(String(FILES.length));
    await page.getByTestId('series').nth(FILES.length - 1).waitFor();
    const items = page.getByTestId('series');
    const count = await items.count();
    expect(count).toBe(FILES.length);
    const seen: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const item = items.nth(i);
      const uid = (await item.getAttribute('data-series-uid')) ?? '';
      await item.locator('canvas, .thumb').first().click();
      const pane = page.getByTestId('pane-original');
      await expect.poll(async () => (await pane.getAttribute('data-series')) === uid && (await pane.getAttribute('data-state')), { timeout: 30_000 }).toBe('rendered');
      await expect.poll(async () => (await canvasStats(page)).std, { timeout: 10_000 }).toBeGreaterThan(5);
      const overlay = (await page.getByTestId('overlay-tr-original').textContent()) ?? '';
      const modality = /\b(CT|MR|NM|PT|OT|RTDOSE|US|SC|XC|DX|CR|MG)\b/.exec(overlay)?.[1] ?? '?';
      seen.push(modality);
      await page.getByTestId('viewport-original').focus();
      await page.keyboard.press('1');
      const wl = page.getByTestId('wl-original');
      if (modality === 'CT') await expect.poll(async () => wl.textContent()).toMatch(/W 80 L 40 \(Brain\)/);
      // The acquisition line in the corner: kVp of the CT, TR/TE of the MR (from their files).
      if (modality === 'CT') expect(await page.getByTestId('acquisition-original').textContent()).toBe('120 kVp');
      if (modality === 'MR') expect(await page.getByTestId('acquisition-original').textContent()).toBe('TR 4000 TE 240 ms');
      if (modality === 'MR') await expect.poll(async () => wl.textContent()).toMatch(/\(Auto\)/);
      if (overlay.includes('RGB') || (await canvasStats(page)).coloured > 100) {
        expect((await canvasStats(page)).coloured).toBeGreaterThan(100);
      }
      const frames = Number(await pane.getAttribute('data-count'));
      const at = Number(await pane.getAttribute('data-rendered-index'));
      if (frames > 1 && at + 1 < frames) {
        await page.keyboard.press('ArrowDown');
        await expect.poll(async () => Number(await pane.getAttribute('data-rendered-index'))).toBe(at + 1);
      }
      await screenshot(page, `viewer-real-${i}-${modality}`);
    }
    expect(seen).toEqual(expect.arrayContaining(['CT', 'MR']));
    expect(session.pageErrors).toEqual([]);
  });
});
