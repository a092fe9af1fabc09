import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { makeWorkflowSeries, packFolders, workflowPack, type WorkflowPack } from '../support/workflow-fixtures';

/**
 * The reading room as a radiologist uses it (issue 19), on the real CT series write_series.py builds from
 * pydicom's CT_small (10 slices, 5 mm apart): CT→MRI on the whole series with the panes linked in mm
 * (the generated pane never shows a slice from elsewhere as the linked one; whole-number progress; one
 * status line; the Review box never offers the previous run), then measuring on the generated pane in
 * its own mm and units, the single-click and Delete defects, the preset label, the cursor value after
 * keyboard scrolling, the W/L readouts, and the difference map refusing CT vs MR in HU.
 */
type PaneId = 'original' | 'generated';

describe('reading room: generated pane, linked review, honest comparisons (real CT)', () => {
  let pack: WorkflowPack;
  let series: string;
  let session: BrowserSession;
  let page: Page;

  const pane = (id: PaneId) => page.getByTestId(`pane-${id}`);
  const attr = async (id: PaneId, name: string) => (await pane(id).getAttribute(name)) ?? '';
  const num = async (id: PaneId, name: string) => Number(await attr(id, name));
  const box = async (id: PaneId) => {
    const b = await page.getByTestId(`viewport-${id}`).boundingBox();
    if (!b) throw new Error(`no box for ${id}`);
    return b;
  };
  const measurements = (id: PaneId) => pane(id).locator('[data-testid="measurement"]');
  async function press(id: PaneId, key: string) {
    await page.getByTestId(`viewport-${id}`).focus();
    await page.keyboard.press(key);
  }
  async function drag(id: PaneId, from: [number, number], to: [number, number], steps = 10) {
    const b = await box(id);
    await page.mouse.move(b.x + from[0] * b.width, b.y + from[1] * b.height);
    await page.mouse.down();
    for (let i = 1; i <= steps; i += 1) {
      await page.mouse.move(b.x + (from[0] + ((to[0] - from[0]) * i) / steps) * b.width, b.y + (from[1] + ((to[1] - from[1]) * i) / steps) * b.height);
    }
    await page.mouse.up();
  }

  beforeAll(async () => {
    pack = workflowPack();
    series = makeWorkflowSeries();
    const folders = pack.nano ? null : packFolders(pack);
    session = await openBrowserSession(folders ? { dataDir: folders.dataDir, resourcesDir: folders.resourcesDir } : {});
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
  });

  it('CT→MRI on the whole series, linked in mm: no slice from elsewhere shown as linked, whole counts, one status line, Review follows the run', async () => {
    await page.getByTestId('import-paths').fill(path.join(series, 'ct_series'));
    await page.getByTestId('import-button').click();
    await expect.poll(async () => page.getByTestId('import-report').getAttribute('data-imported'), { timeout: 60_000 }).toBe('10');
    const item = page.locator('[data-testid="series"][data-description^="CT from CT_small"]');
    await item.focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => attr('original', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    expect(await page.getByTestId('sync-lock').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('generate-task').selectOption('ct2mri');

    // A first run (the current slice) leaves its Review box…
    await page.getByTestId('scope-slice').check();
    await page.getByTestId('generate-button').click();
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => (await outcome.count()) > 0 && (await outcome.getAttribute('data-complete')), { timeout: 180_000 }).toBe('true');
    const firstRun = (await outcome.getAttribute('data-run-id')) ?? '';
    await expect.poll(async () => page.getByTestId('run-follow-up').getAttribute('data-run-id')).toBe(firstRun);

    // …then the whole series, watched as it runs.
    await page.getByTestId('scope-series').check();
    await page.evaluate(() => {
      const w = window as unknown as { __seen: Array<Record<string, string | null>> };
      w.__seen = [];
      const read = () => {
        const o = document.querySelector('[data-testid="pane-original"]');
        const g = document.querySelector('[data-testid="pane-generated"]');
        w.__seen.push({
          oLoc: o?.getAttribute('data-location') ?? null,
          gLoc: g?.getAttribute('data-location') ?? null,
          gState: g?.getAttribute('data-state') ?? null,
          gNoSlice: g?.getAttribute('data-no-slice') ?? null,
          gSeries: g?.getAttribute('data-series') ?? null,
          job: document.querySelector('[data-testid="job-count"]')?.textContent ?? null,
          status: document.querySelector('[data-testid="generate-status"]')?.textContent ?? null,
          review: document.querySelector('[data-testid="run-follow-up"]')?.getAttribute('data-run-id') ?? null,
          pending: document.querySelector('[data-testid="run-pending"]') ? 'yes' : null,
          active: document.querySelector('.pane-active')?.getAttribute('data-testid') ?? null,
        });
      };
      new MutationObserver(read).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
    });
    const oIndex = await num('original', 'data-index');
    const oLoc = await num('original', 'data-location');
    await page.getByTestId('generate-button').click();
    await expect.poll(async () => (await outcome.getAttribute('data-written')) === '10' && (await outcome.getAttribute('data-run-id')) !== firstRun && (await outcome.getAttribute('data-complete')), { timeout: 300_000 }).toBe('true');
    const run = (await outcome.getAttribute('data-run-id')) ?? '';
    const seen = await page.evaluate(() => (window as unknown as { __seen: Array<Record<string, string | null>> }).__seen);
    const during = seen.filter((s) => s.status !== null);
    expect(during.length).toBeGreaterThan(5);
    // The original stayed where the reader left it, and kept the keyboard.
    expect(await num('original', 'data-index')).toBe(oIndex);
    expect(during.every((s) => s.oLoc === String(oLoc) || Number(s.oLoc) === oLoc)).toBe(true);
    expect(during.every((s) => s.active === null || s.active === 'pane-original')).toBe(true);
    // Whenever the new series showed an image uncovered, it was the slice at the original's location
    // (5 mm slices: within 2.5 mm); before that slice existed the pane said so.
    const newSeries = seen.filter((s) => s.gSeries && s.gSeries === (seen[seen.length - 1]?.gSeries ?? '') && s.gState === 'rendered');
    const shownUncovered = newSeries.filter((s) => s.gNoSlice === '');
    expect(shownUncovered.length).toBeGreaterThan(0);
    for (const s of shownUncovered) expect(Math.abs(Number(s.gLoc) - oLoc)).toBeLessThanOrEqual(2.51);
    expect(newSeries.some((s) => Number(s.gNoSlice) > 2.51)).toBe(true);
    // Progress in whole numbers; the status line states each count once.
    const jobs = during.map((s) => s.job).filter((j): j is string => j !== null);
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) expect(j).toMatch(/^\d+\/\d+$/);
    for (const s of during) {
      expect(s.status).not.toMatch(/\d\.\d/);
      expect((s.status ?? '').match(/of 10/g)?.length ?? 0).toBeLessThanOrEqual(1);
    }
    // The Review box never offered the previous run while the new one ran; now it offers the new one.
    expect(during.some((s) => s.review === firstRun)).toBe(false);
    expect(during.some((s) => s.pending === 'yes')).toBe(true);
    await expect.poll(async () => page.getByTestId('run-follow-up').getAttribute('data-run-id')).toBe(run);
    await expect.poll(async () => Math.abs((await num('generated', 'data-location')) - oLoc)).toBeLessThanOrEqual(2.51);
    expect(await attr('generated', 'data-no-slice')).toBe('');
    expect(await page.getByTestId('job-count').first().textContent()).toBe('10/10');
    await screenshot(page, 'reading-01-ct2mri-linked');
  }, 600_000);

  it('measures on the generated MR pane: the line and ROI are drawn there, in its mm and named units, not HU', async () => {
    expect(await attr('generated', 'data-unit')).toBe('MR intensity (a.u.)');
    expect(await attr('original', 'data-unit')).toBe('HU');
    // A stray click with Length on the original first: it used to leave a pending 0 mm line there that
    // locked the tools and then followed the next drag, made on the generated pane.
    await press('original', 'l');
    const bo = await box('original');
    await page.mouse.click(bo.x + 0.3 * bo.width, bo.y + 0.3 * bo.height);
    await page.waitForTimeout(200);
    expect(await measurements('original').count()).toBe(0);
    await drag('generated', [0.3, 0.45], [0.62, 0.45]);
    const length = measurements('generated').and(page.locator('[data-tool="Length"]'));
    await expect.poll(async () => length.count()).toBe(1);
    expect(await measurements('original').count()).toBe(0);
    const b = await box('generated');
    const expectedMm = 0.32 * b.width * (await num('generated', 'data-mm-per-px'));
    expect(await length.getAttribute('data-unit')).toBe('mm');
    expect(Math.abs(Number(await length.getAttribute('data-value')) - expectedMm)).toBeLessThan(2 * (await num('generated', 'data-mm-per-px')) + 0.05);

    // An ROI whose label would land on the line's label (both right of their shapes, same height).
    await press('generated', 'e');
    await drag('generated', [0.5, 0.42], [0.6, 0.49]);
    const roi = measurements('generated').and(page.locator('[data-tool="EllipticalRoi"]'));
    await expect.poll(async () => roi.count()).toBe(1);
    expect(await measurements('original').count()).toBe(0);
    expect(await roi.getAttribute('data-unit')).toBe('MR intensity (a.u.)');
    expect(await roi.textContent()).toMatch(/^ROI mean -?\d+\.\d ± \d+\.\d MR intensity \(a\.u\.\) · area \d+\.\d mm²$/);
    expect(await pane('generated').textContent()).not.toMatch(/HU/);
    // The two labels drawn on the image do not overlap.
    const boxOf = async (l: typeof roi) => ((await l.getAttribute('data-label-box')) ?? '').split(',').map(Number);
    await expect.poll(async () => (await boxOf(roi)).length).toBe(4);
    await page.waitForTimeout(300);
    const [rl = 0, rt = 0, rw = 0, rh = 0] = await boxOf(roi);
    const [ll = 0, lt = 0, lw = 0, lh = 0] = await boxOf(length);
    expect(rw * rh * lw * lh).toBeGreaterThan(0);
    const overlap = rl < ll + lw && ll < rl + rw && rt < lt + lh && lt < rt + rh;
    expect(overlap, `ROI label ${[rl, rt, rw, rh]} vs length label ${[ll, lt, lw, lh]}`).toBe(false);
    await screenshot(page, 'reading-02-measure-generated');
  });

  it('a single click with Angle leaves no NaN measurement; Delete removes the last measurement', async () => {
    await press('generated', 'a');
    const b = await box('generated');
    await page.mouse.click(b.x + 0.4 * b.width, b.y + 0.7 * b.height);
    await page.waitForTimeout(300);
    expect(await pane('generated').textContent()).not.toMatch(/NaN/);
    expect(await measurements('generated').and(page.locator('[data-tool="Angle"]')).count()).toBe(0);
    expect(await measurements('generated').count()).toBe(2);
    // The tools are not left locked: a real angle (drag the first arm, click the third point) works.
    await drag('generated', [0.2, 0.8], [0.3, 0.8], 5);
    await page.mouse.move(b.x + 0.25 * b.width, b.y + 0.7 * b.height);
    await page.mouse.move(b.x + 0.2 * b.width, b.y + 0.7 * b.height);
    await page.mouse.click(b.x + 0.2 * b.width, b.y + 0.7 * b.height);
    const angle = measurements('generated').and(page.locator('[data-tool="Angle"]'));
    await expect.poll(async () => angle.count()).toBe(1);
    // Arms (−0.1 w, 0) and (−0.1 w, −0.1 h) on screen: atan(h / w).
    const expectedDeg = (Math.atan2(b.height, b.width) * 180) / Math.PI;
    expect(Math.abs(Number(await angle.getAttribute('data-value')) - expectedDeg)).toBeLessThan(1.5);
    await page.mouse.move(b.x + 0.05 * b.width, b.y + 0.05 * b.height);
    await press('generated', 'Delete');
    await expect.poll(async () => measurements('generated').count()).toBe(2);
    expect(await angle.count()).toBe(0);
    await press('generated', 'w');
    await press('generated', 'Delete');
    await expect.poll(async () => measurements('generated').count()).toBe(1);
    expect(await measurements('generated').first().getAttribute('data-tool')).toBe('Length');
    await press('generated', 'Backspace');
    await expect.poll(async () => measurements('generated').count()).toBe(0);
    await screenshot(page, 'reading-03-deleted');
  });

  it('CT and MR: W/L not linked by default, both windows on screen; the preset label goes when the window is dragged', async () => {
    const link = page.getByTestId('wl-link');
    expect(await link.getAttribute('aria-pressed')).toBe('false');
    await press('original', 'w');
    await press('original', '1');
    await expect.poll(async () => page.getByTestId('wl-original').textContent()).toMatch(/W 80 L 40 \(Brain\)/);
    const genWw = await num('generated', 'data-ww');
    expect(await page.getByTestId('wl-both').textContent()).toMatch(new RegExp(`Orig W 80 L 40 HU · Gen W ${Math.round(genWw)} L -?\\d+`));
    await drag('original', [0.5, 0.5], [0.6, 0.55], 6);
    await expect.poll(async () => num('original', 'data-ww')).not.toBe(80);
    await expect.poll(async () => page.getByTestId('wl-original').textContent()).not.toMatch(/Brain/);
    expect(await num('generated', 'data-ww')).toBe(genWw);
    await screenshot(page, 'reading-04-wl');
  });

  it('the cursor value follows keyboard scrolling', async () => {
    const readout = () => page.getByTestId('cursor-original').textContent();
    const b = await box('original');
    const at = { x: b.x + 0.55 * b.width, y: b.y + 0.5 * b.height };
    await page.getByTestId('viewport-original').focus();
    await page.mouse.move(at.x - 2, at.y);
    await page.mouse.move(at.x, at.y);
    await expect.poll(readout).toMatch(/HU$/);
    const before = (await readout()) ?? '';
    const index = await num('original', 'data-index');
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => attr('original', 'data-rendered-index')).toBe(String(index + 1));
    await page.waitForTimeout(200);
    const after = (await readout()) ?? '';
    // The value a fresh pointer move reads at the same point on the new slice.
    await page.mouse.move(at.x - 2, at.y);
    await page.mouse.move(at.x, at.y);
    await page.waitForTimeout(200);
    const fresh = (await readout()) ?? '';
    expect(fresh).not.toBe(before); // the slices differ there (CT_small shifted 3 px a slice)
    expect(after).toBe(fresh);
  });

  it('difference map: CT against synthetic MR is refused in HU; the normalised difference is labelled and lies under the labels', async () => {
    await page.mouse.move(5, 5);
    await page.getByTestId('mode-difference').click();
    const map = page.getByTestId('difference-map');
    await expect.poll(async () => map.getAttribute('data-kind')).toBe('refused');
    expect(await page.getByTestId('difference-refused').textContent()).toMatch(/CT \(HU\).*MR \(MR intensity \(a\.u\.\)\)/);
    expect(await page.getByTestId('colour-bar').count()).toBe(0);
    await screenshot(page, 'reading-05-difference-refused');
    await page.getByTestId('difference-normalised').click();
    await expect.poll(async () => map.getAttribute('data-kind')).toBe('normalised');
    await expect.poll(async () => Number(await map.getAttribute('data-finite'))).toBeGreaterThan(1000);
    expect(await map.getAttribute('data-unit')).toBe('SD');
    const bar = (await page.getByTestId('colour-bar').textContent()) ?? '';
    expect(bar).toMatch(/normalised structural difference/);
    expect(bar).not.toMatch(/\bHU\b(?!\))/);
    expect(bar).toMatch(/not HU/);
    // Labels and markers are drawn above the map, and the colour bar keeps clear of them.
    const z = await page.evaluate(() => {
      const zi = (sel: string) => Number(getComputedStyle(document.querySelector(sel)!).zIndex);
      return { map: zi('[data-testid="difference-map"]'), text: zi('[data-testid="pane-generated"] .pane-overlay') };
    });
    expect(z.map).toBeLessThan(z.text);
    const barBox = (await page.getByTestId('colour-bar').boundingBox())!;
    for (const id of ['orient-left-generated', 'overlay-tr-generated', 'overlay-br-generated']) {
      const o = (await page.getByTestId(id).boundingBox())!;
      const overlap = barBox.x < o.x + o.width && o.x < barBox.x + barBox.width && barBox.y < o.y + o.height && o.y < barBox.y + barBox.height;
      expect(overlap, id).toBe(false);
    }
    const right = page.locator('[data-testid="pane-generated"] .orient-right');
    const r = (await right.boundingBox())!;
    expect(barBox.x + barBox.width <= r.x || r.y + r.height <= barBox.y || barBox.y + barBox.height <= r.y).toBe(true);
    await screenshot(page, 'reading-06-difference-normalised');
    await page.getByTestId('mode-side').click();
  });

  it('raised no page errors', () => {
    expect(session.pageErrors).toEqual([]);
  });
});
