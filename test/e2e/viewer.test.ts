import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { makeViewerSeries } from '../support/viewer-fixtures';

/**
 * The viewer in Chromium against the real services: import the known-geometry phantom pair (see
 * test/fixtures/viewer/make_viewer_series.py), open, scroll, window, measure, sync the two panes in mm
 * across different matrices/spacings/fields, and render every comparison mode. No CSP errors allowed.
 */
type PaneId = 'original' | 'generated';

describe('viewer (Cornerstone panes over the typed dicom contract)', () => {
  let session: BrowserSession;
  let page: Page;
  let dir: string;

  const pane = (id: PaneId) => page.getByTestId(`pane-${id}`);
  const attr = async (id: PaneId, name: string) => (await pane(id).getAttribute(name)) ?? '';
  const num = async (id: PaneId, name: string) => Number(await attr(id, name));

  async function box(id: PaneId) {
    const b = await page.getByTestId(`viewport-${id}`).boundingBox();
    if (!b) throw new Error(`no box for ${id}`);
    return b;
  }

  /** Moves the mouse to a fraction of a pane and returns the patient point (mm) the pane reports under it. */
  async function patientUnder(id: PaneId, fx: number, fy: number): Promise<number[]> {
    const b = await box(id);
    await page.mouse.move(b.x + fx * b.width - 3, b.y + fy * b.height - 3);
    await page.mouse.move(b.x + fx * b.width, b.y + fy * b.height);
    let value = '';
    await expect
      .poll(async () => {
        value = await attr(id, 'data-cursor');
        return value;
      })
      .not.toBe('');
    // One more read after the last move has surely been processed.
    await page.waitForTimeout(50);
    return (await attr(id, 'data-cursor')).split(',').map(Number);
  }

  async function press(id: PaneId, key: string) {
    await page.getByTestId(`viewport-${id}`).focus();
    await page.keyboard.press(key);
  }

  beforeAll(async () => {
    dir = makeViewerSeries('pair');
    // Three bad files next to the good series: each must be a per-file message, the rest imports.
    mkdirSync(`${dir}/bad`);
    writeFileSync(`${dir}/bad/empty.dcm`, '');
    writeFileSync(`${dir}/bad/notes.txt`, 'hello, not DICOM');
    writeFileSync(`${dir}/bad/truncated.dcm`, readFileSync(`${dir}/original/im0001.dcm`).subarray(0, 3000));
    session = await openBrowserSession();
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
  });

  it('imports the phantom pair through the import box, lists bad files with their reasons, shows both series with thumbnails', async () => {
    await page.getByTestId('import-paths').fill(`${dir}/original\n${dir}/generated\n${dir}/bad`);
    await page.getByTestId('import-button').click();
    const report = page.getByTestId('import-report');
    await expect.poll(async () => report.getAttribute('data-imported'), { timeout: 60_000 }).toBe('88');
    expect(await report.getAttribute('data-failed')).toBe('3');
    const errors = (await page.getByTestId('import-error').allTextContents()).sort();
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^empty\.dcm: .*empty/i);
    expect(errors[1]).toMatch(/^notes\.txt: Not a DICOM file/);
    expect(errors[2]).toMatch(/^truncated\.dcm: .*truncated/i);
    // Thumbnails are drawn (not black): the phantom's bright square is in every middle slice.
    await expect
      .poll(async () =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll('[data-testid="series"] canvas')).map((c) => {
            const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 64, 64).data;
            let bright = 0;
            for (let k = 0; k < d.length; k += 4) if ((d[k] ?? 0) > 200) bright += 1;
            return bright > 20;
          }),
        ),
      )
      .toEqual([true, true]);
    await expect.poll(async () => page.getByTestId('series').count()).toBe(2);
    expect(await page.getByTestId('series').first().getAttribute('data-description')).toMatch(/Original/);
    await screenshot(page, 'viewer-imported');
  });

  it('opens a series by keyboard, scrolls with wheel, arrows and page keys, in sorted slice order', async () => {
    const item = page.locator('[data-testid="series"][data-description^="Original"]');
    await item.focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => attr('original', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    expect(await num('original', 'data-count')).toBe(40);
    expect(await num('original', 'data-index')).toBe(20);
    // Files were written in reverse order; display order follows position: 2.5 mm per slice.
    expect(await num('original', 'data-location')).toBeCloseTo(50, 3);
    expect(await page.getByTestId('orient-left-original').textContent()).toBe('R');
    expect(await page.getByTestId('orient-top-original').textContent()).toBe('A');

    await press('original', 'ArrowDown');
    await expect.poll(async () => num('original', 'data-index')).toBe(21);
    await press('original', 'PageDown');
    await expect.poll(async () => num('original', 'data-index')).toBe(31);
    await press('original', 'PageUp');
    await press('original', 'ArrowUp');
    await expect.poll(async () => num('original', 'data-index')).toBe(20);
    const b = await box('original');
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    for (let i = 0; i < 3; i += 1) {
      await page.mouse.wheel(0, 120);
      await page.waitForTimeout(60);
    }
    await expect.poll(async () => num('original', 'data-index')).toBe(23);
    expect(await page.getByTestId('slice-original').textContent()).toBe('Im 24/40');
    await press('original', 'End');
    await expect.poll(async () => num('original', 'data-index')).toBe(39);
    await press('original', 'Home');
    await expect.poll(async () => num('original', 'data-index')).toBe(0);
    await screenshot(page, 'viewer-scrolled');
    // Cine at 20 fps advances on its own; c stops it.
    await page.getByTestId('cine-fps').fill('20');
    await press('original', 'c');
    expect(await page.getByTestId('cine').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(async () => num('original', 'data-index'), { timeout: 5000 }).toBeGreaterThanOrEqual(8);
    await press('original', 'c');
    const stopped = await num('original', 'data-index');
    await page.waitForTimeout(300);
    expect(await num('original', 'data-index')).toBe(stopped);
    await press('original', 'Home');
    await expect.poll(async () => num('original', 'data-index')).toBe(0);
  });

  it('applies the CT presets on the number keys; W/L shows in the overlay', async () => {
    const presets: Array<[string, number, number]> = [
      ['1', 80, 40],
      ['2', 400, 40],
      ['3', 1500, -600],
      ['4', 2500, 480],
    ];
    for (const [key, ww, wc] of presets) {
      await press('original', key);
      await expect.poll(async () => [await num('original', 'data-ww'), await num('original', 'data-wc')]).toEqual([ww, wc]);
    }
    expect(await page.getByTestId('wl-original').textContent()).toMatch(/W 2500 L 480/);
    await press('original', 'i');
    await expect.poll(async () => page.getByTestId('wl-original').textContent()).toMatch(/inv/);
    await screenshot(page, 'viewer-bone-inverted');
    await press('original', 'i');
    await press('original', '2');
  });

  it('measures the 50 mm bone square (49.6 mm of whole pixels) with the length tool in mm', async () => {
    await press('original', 'Home');
    await press('original', 'r');
    await press('original', '2');
    await expect.poll(async () => num('original', 'data-ww')).toBe(400);
    const b = await box('original');
    // Find the bone's edges in the rendered canvas along the centre row (bone 255, soft tissue ~127).
    const edges = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="viewport-original"] canvas') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const y = Math.floor(canvas.height / 2);
      const row = ctx.getImageData(0, y, canvas.width, 1).data;
      let first = -1;
      let last = -1;
      for (let x = 0; x < canvas.width; x += 1) {
        if ((row[x * 4] ?? 0) >= 191) {
          if (first < 0) first = x;
          last = x;
        }
      }
      return { first, last, y, width: canvas.width };
    });
    expect(edges.first).toBeGreaterThan(0);
    expect(edges.last).toBeGreaterThan(edges.first + 20);
    await press('original', 'l');
    const y = b.y + edges.y + 0.5;
    await page.mouse.move(b.x + edges.first, y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i += 1) await page.mouse.move(b.x + edges.first + ((edges.last + 1 - edges.first) * i) / 10, y);
    await page.mouse.up();
    const m = page.locator('[data-testid="measurement"][data-tool="Length"]').first();
    await expect.poll(async () => m.count()).toBe(1);
    const mm = Number(await m.getAttribute('data-value'));
    const mmPerPx = await num('original', 'data-mm-per-px');
    expect(await m.getAttribute('data-unit')).toBe('mm');
    // Whole bone pixels span 62 × 0.8 = 49.6 mm; the edge is found to within a screen pixel.
    expect(Math.abs(mm - 49.6)).toBeLessThanOrEqual(1.5 * mmPerPx + 0.05);
    await screenshot(page, 'viewer-length-50mm');
    await press('original', 'w');
  });

  it('elliptical ROI reports mean ± sd in HU', async () => {
    await press('original', 'e');
    const b = await box('original');
    const cx = b.x + b.width / 2;
    const cy = b.y + b.height / 2;
    // Inside the lower half of the bone square, away from the length line on the centre row.
    await page.mouse.move(cx - 30, cy + 35);
    await page.mouse.down();
    for (let i = 1; i <= 5; i += 1) await page.mouse.move(cx - 30 + 8 * i, cy + 35 + 6 * i);
    await page.mouse.up();
    const roi = page.locator('[data-testid="measurement"][data-tool="EllipticalRoi"]').first();
    await expect.poll(async () => roi.count()).toBe(1);
    // Inside the bone square at slice 0 (no sphere there): exactly 1000 HU.
    expect(Number(await roi.getAttribute('data-value'))).toBeCloseTo(1000, 3);
    expect(await roi.textContent()).toMatch(/ROI mean 1000\.0 ± 0\.0 HU · area \d+\.\d mm²/);
    await screenshot(page, 'viewer-roi');
    await press('original', 'w');
  });

  it('syncs the generated pane in mm: same slice location and the same patient point under the same screen place', async () => {
    await press('original', 'r');
    await page.locator('[data-testid="series"][data-description^="Resampled"]').click({ modifiers: ['Shift'] });
    await expect.poll(async () => attr('generated', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    expect(await attr('generated', 'data-count')).toBe('48');
    expect(await page.getByTestId('ai-banner').isVisible()).toBe(true);
    await press('original', 'PageDown');
    await press('original', 'PageDown');
    await expect.poll(async () => num('original', 'data-index')).toBe(20);
    // Original at z = 50; generated slices every 2 mm from z = 1 → nearest is 49 or 51.
    await expect.poll(async () => Math.abs((await num('generated', 'data-location')) - 50)).toBeLessThanOrEqual(1.0001);

    const check = async (label: string) => {
      // Physical zoom: same mm per screen pixel in both panes (matrix 256 @ 0.8 vs 400 @ 0.4).
      await expect.poll(async () => (await num('generated', 'data-mm-per-px')) / (await num('original', 'data-mm-per-px'))).toBeCloseTo(1, 5);
      for (const [fx, fy] of [
        [0.5, 0.5],
        [0.3, 0.62],
        [0.71, 0.35],
      ] as const) {
        const a = await patientUnder('original', fx, fy);
        const crosshair = await page.getByTestId('crosshair-generated').boundingBox();
        const bo = await box('original');
        const bg = await box('generated');
        expect(crosshair, `${label}: crosshair in the generated pane`).not.toBeNull();
        expect(Math.abs(crosshair!.x + crosshair!.width / 2 - bg.x - fx * bo.width)).toBeLessThan(2);
        const g = await patientUnder('generated', fx, fy);
        const tol = 1.5 * (await num('original', 'data-mm-per-px'));
        expect(Math.abs((g[0] ?? NaN) - (a[0] ?? NaN)), `${label} x at ${fx},${fy}`).toBeLessThan(tol);
        expect(Math.abs((g[1] ?? NaN) - (a[1] ?? NaN)), `${label} y at ${fx},${fy}`).toBeLessThan(tol);
        expect(Math.abs((g[2] ?? NaN) - (a[2] ?? NaN)), `${label} z`).toBeLessThanOrEqual(1.0001);
      }
    };
    await check('fitted');
    await screenshot(page, 'viewer-sync-fitted');

    // Zoom in with keys and pan with a middle drag on the original: the generated pane follows in mm.
    await press('original', '+');
    await press('original', '+');
    const b = await box('original');
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.down({ button: 'middle' });
    for (let i = 1; i <= 8; i += 1) await page.mouse.move(b.x + b.width / 2 + 8 * i, b.y + b.height / 2 - 5 * i);
    await page.mouse.up({ button: 'middle' });
    await check('zoomed and panned');
    await screenshot(page, 'viewer-sync-zoomed');

    // Two CT series (both HU): W/L is linked by default, and both windows are shown in the toolbar.
    const link = page.getByTestId('wl-link');
    expect(await link.getAttribute('aria-pressed')).toBe('true');
    await press('original', '3');
    await expect.poll(async () => num('original', 'data-ww')).toBe(1500);
    await expect.poll(async () => [await num('generated', 'data-ww'), await num('generated', 'data-wc')]).toEqual([1500, -600]);
    expect(await page.getByTestId('wl-generated').textContent()).toMatch(/W 1500 L -600 \(Lung\)/);
    expect(await page.getByTestId('wl-both').textContent()).toBe('Orig W 1500 L -600 HU · Gen W 1500 L -600 HU');

    // A W/L drag on the generated pane moves both while linked, and drops the preset label.
    const bgen = await box('generated');
    const wlDrag = async () => {
      await page.mouse.move(bgen.x + bgen.width * 0.5, bgen.y + bgen.height * 0.5);
      await page.mouse.down();
      for (let i = 1; i <= 6; i += 1) await page.mouse.move(bgen.x + bgen.width * 0.5 + 15 * i, bgen.y + bgen.height * 0.5 + 5 * i);
      await page.mouse.up();
    };
    await wlDrag();
    await expect.poll(async () => num('generated', 'data-ww')).toBeGreaterThan(1550);
    await expect.poll(async () => num('original', 'data-ww')).toBe(await num('generated', 'data-ww'));
    expect(await page.getByTestId('wl-original').textContent()).not.toMatch(/Lung/);
    await screenshot(page, 'viewer-wl-linked');

    // Unlinked (the reader's choice): a drag on the generated pane changes only its window.
    await link.click();
    expect(await link.getAttribute('aria-pressed')).toBe('false');
    const origWw = await num('original', 'data-ww');
    const wwBefore = await num('generated', 'data-ww');
    await wlDrag();
    await expect.poll(async () => num('generated', 'data-ww')).toBeGreaterThan(wwBefore + 50);
    expect(await num('original', 'data-ww')).toBe(origWw);
    await link.click();
    await press('original', '3');

    // Scrolling the generated pane drives the original (nearest slice in mm).
    await press('generated', 'ArrowDown');
    await press('generated', 'ArrowDown');
    await expect.poll(async () => Math.abs((await num('original', 'data-location')) - (await num('generated', 'data-location')))).toBeLessThanOrEqual(1.25);

    // Unlocked: the other pane stays put.
    await page.getByTestId('sync-lock').click();
    expect(await page.getByTestId('sync-lock').getAttribute('aria-pressed')).toBe('false');
    const before = await num('generated', 'data-index');
    await press('original', 'PageDown');
    await page.waitForTimeout(300);
    expect(await num('generated', 'data-index')).toBe(before);
    await page.getByTestId('sync-lock').click();
    await press('original', 'r');
  });

  it('renders every comparison mode', async () => {
    await press('original', '2');
    await press('generated', '2');
    await page.mouse.move(5, 5);
    for (const mode of ['side', 'fade', 'swipe', 'flicker', 'difference'] as const) {
      await page.getByTestId(`mode-${mode}`).click();
      await expect.poll(async () => page.getByTestId('viewer-area').getAttribute('data-mode')).toBe(mode);
      await page.waitForTimeout(250);
      const layer = page.getByTestId('viewport-generated');
      if (mode === 'fade') {
        expect(await layer.evaluate((el) => getComputedStyle(el).opacity)).toBe('0.5');
        await page.getByTestId('fade-slider').fill('80');
        await expect.poll(async () => layer.evaluate((el) => getComputedStyle(el).opacity)).toBe('0.8');
        // Both panes now share one place on screen.
        const a = await box('original');
        const g = await box('generated');
        expect(Math.abs(a.x - g.x) + Math.abs(a.width - g.width)).toBeLessThan(2);
      }
      if (mode === 'swipe') {
        expect(await layer.evaluate((el) => getComputedStyle(el).clipPath)).toMatch(/inset\(0(px)? 0(px)? 0(px)? 50%\)/);
        expect(await page.getByTestId('swipe-line').isVisible()).toBe(true);
        // Drag the split line to 30% of the width.
        const line = (await page.getByTestId('swipe-line').boundingBox())!;
        const area = (await page.getByTestId('viewer-area').boundingBox())!;
        await page.mouse.move(line.x + line.width / 2, line.y + line.height / 2);
        await page.mouse.down();
        for (let i = 1; i <= 5; i += 1) await page.mouse.move(line.x + line.width / 2 + ((area.x + 0.3 * area.width - line.x - line.width / 2) * i) / 5, line.y + line.height / 2);
        await page.mouse.up();
        await expect.poll(async () => Number(/ (\d+(?:\.\d+)?)%\)/.exec(await layer.evaluate((el) => getComputedStyle(el).clipPath))?.[1])).toBeCloseTo(30, 0);
      }
      if (mode === 'flicker') {
        const seen = new Set<string>();
        for (let i = 0; i < 16; i += 1) {
          seen.add(await layer.evaluate((el) => getComputedStyle(el).visibility));
          await page.waitForTimeout(70);
        }
        expect([...seen].sort()).toEqual(['hidden', 'visible']);
      }
      if (mode === 'difference') {
        const map = page.getByTestId('difference-map');
        await expect.poll(async () => Number(await map.getAttribute('data-finite'))).toBeGreaterThan(5000);
        expect(Number(await map.getAttribute('data-range'))).toBeGreaterThan(0);
        expect(await page.getByTestId('colour-bar').isVisible()).toBe(true);
        // The +100 HU disc at (30, 30) mm exists only in the generated series: it must show as red.
        const red = await page.evaluate(() => {
          const c = document.querySelector('[data-testid="difference-map"] canvas') as HTMLCanvasElement;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let k = 0; k < d.length; k += 4) if ((d[k] ?? 0) > 200 && (d[k + 2] ?? 0) < 40) n += 1;
          return n;
        });
        expect(red).toBeGreaterThan(20);
      }
      await screenshot(page, `viewer-mode-${mode}`);
    }
    await page.getByTestId('mode-side').click();
  });

  it('raised no page errors and no CSP violations', () => {
    expect(session.pageErrors).toEqual([]);
  });
});
