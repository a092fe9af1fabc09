import { readFileSync, rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { percentile, type BenchRow } from './bench-types';
import { openBrowserSession } from '../test/support/browser-session';
import { makeViewerSeries } from '../test/support/viewer-fixtures';

const SLICES = Number(process.env.HEALTHGPT_BENCH_VIEWER_SLICES ?? 300);

/** Resident memory (MiB) of this browser's renderer processes (ids from CDP, RSS from Linux /proc), or null. */
export async function rendererRssMiB(browser: Browser): Promise<number | null> {
  try {
    const cdp = await browser.newBrowserCDPSession();
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number }> };
    await cdp.detach();
    let kib = 0;
    let found = 0;
    for (const p of info.processInfo) {
      if (p.type !== 'renderer') continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.id}/status`, 'utf8'));
      if (m?.[1]) {
        kib += Number(m[1]);
        found += 1;
      }
    }
    return found > 0 ? kib / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Viewer in Chromium (browser mode, loopback bridge) on a 300-slice 512x512 CT written by pydicom:
 * time to first image (import → first pixels on screen), render time per slice while scrolling (show →
 * Cornerstone IMAGE_RENDERED, measured in the page with the User Timing API), and renderer memory with
 * the whole series in the image cache.
 */
export async function runViewerBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = makeViewerSeries('bench', SLICES);
  const session = await openBrowserSession();
  const { page } = session;
  const note = `${SLICES} slices 512x512 16-bit CT, Chromium ${session.browser.version()}, browser mode (loopback bridge)`;
  try {
    await page.getByTestId('shell').waitFor();
    const rssBefore = await rendererRssMiB(session.browser);
    const t0 = performance.now();
    await page.getByTestId('import-paths').fill(`${dir}/bench`);
    await page.getByTestId('import-button').click();
    await page.locator('[data-testid="series"][data-description="Bench 512"]').waitFor({ timeout: 300_000 });
    const tListed = performance.now();
    // The first new series opens in the empty original pane while the import is still running.
    await page.waitForFunction(() => document.querySelector('[data-testid="pane-original"]')?.getAttribute('data-state') === 'rendered', null, { timeout: 300_000 });
    const tFirst = performance.now();
    await page.getByTestId('import-report').waitFor({ timeout: 300_000 });
    const tImported = performance.now();
    const inPage = await page.evaluate(() => performance.getEntriesByName('hgpt-first-image').map((e) => e.duration));
    rows.push({ benchmark: 'viewer', metric: 'time to first image (import → first pixels)', value: tFirst - t0, unit: 'ms', note: `${note}; series opens while importing; target < 1000 ms` });
    rows.push({ benchmark: 'viewer', metric: 'import → series listed (first files indexed)', value: tListed - t0, unit: 'ms', note: 'job start, folder walk, scan worker start, first files parsed, list refresh' });
    rows.push({ benchmark: 'viewer', metric: 'series listed → first pixels', value: tFirst - tListed, unit: 'ms', note: 'open: series detail, one frame over the bridge, draw' });
    rows.push({ benchmark: 'viewer', metric: 'import of the whole series (worker parse + index)', value: tImported - t0, unit: 'ms', note: `${(SLICES / ((tImported - t0) / 1000)).toFixed(0)} files/s` });
    if (inPage[0] !== undefined) rows.push({ benchmark: 'viewer', metric: 'first frame fetch + draw (in page)', value: inPage[0], unit: 'ms', note: 'loadAndCacheImage → IMAGE_RENDERED, one 512x512 frame over the bridge' });
    await page.waitForFunction((n) => document.querySelector('[data-testid="pane-original"]')?.getAttribute('data-count') === String(n), SLICES, { timeout: 30_000 });

    const scrollPass = async (label: string) => {
      await page.evaluate(() => {
        performance.clearMeasures('hgpt-slice-render');
        performance.clearMeasures('hgpt-slice-draw');
      });
      await page.getByTestId('viewport-original').focus();
      await page.keyboard.press('Home');
      await page.waitForFunction(() => document.querySelector('[data-testid="pane-original"]')?.getAttribute('data-rendered-index') === '0');
      for (let i = 1; i < SLICES; i += 1) {
        await page.keyboard.press('ArrowDown');
        await page.waitForFunction((want) => document.querySelector('[data-testid="pane-original"]')?.getAttribute('data-rendered-index') === String(want), i);
      }
      const samples = await page.evaluate(() => performance.getEntriesByName('hgpt-slice-render').map((e) => e.duration));
      const draws = await page.evaluate(() => performance.getEntriesByName('hgpt-slice-draw').map((e) => e.duration));
      const onScreen = 'key → slice on screen: load (cache or IPC) + wait for the next animation frame + draw';
      rows.push({ benchmark: 'viewer', metric: `slice on screen while scrolling, ${label}, p50`, value: percentile(samples, 50), unit: 'ms', note: `${samples.length} slices; ${onScreen}` });
      rows.push({ benchmark: 'viewer', metric: `slice on screen while scrolling, ${label}, p95`, value: percentile(samples, 95), unit: 'ms', note: `${samples.length} slices` });
      rows.push({ benchmark: 'viewer', metric: `slice draw (Cornerstone render), ${label}, p50`, value: percentile(draws, 50), unit: 'ms', note: `${draws.length} draws; target p95 < 16 ms` });
      rows.push({ benchmark: 'viewer', metric: `slice draw (Cornerstone render), ${label}, p95`, value: percentile(draws, 95), unit: 'ms', note: 'software canvas (Chromium --disable-gpu)' });
    };
    await scrollPass('first pass (frames over IPC, ±3 prefetch)');
    await scrollPass('cached');

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
    const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; embedderHeapUsedSize?: number; backingStorageSize?: number };
    rows.push({ benchmark: 'viewer', metric: 'renderer JS heap used, series cached', value: heap.usedSize / 2 ** 20, unit: 'MiB', note: 'V8 heap (typed-array backing stores are counted separately below when Chromium reports them)' });
    if (heap.backingStorageSize !== undefined) rows.push({ benchmark: 'viewer', metric: 'renderer array buffer backing stores', value: heap.backingStorageSize / 2 ** 20, unit: 'MiB', note: `pixels: ${((SLICES * 512 * 512 * 2) / 2 ** 20).toFixed(0)} MiB of 16-bit data` });
    const rss = await rendererRssMiB(session.browser);
    if (rss !== null) rows.push({ benchmark: 'viewer', metric: 'renderer process RSS, series cached', value: rss, unit: 'MiB', note: rssBefore !== null ? `before import ${rssBefore.toFixed(0)} MiB; this browser's renderer processes` : "this browser's renderer processes" });
  } catch (e) {
    const state = await page.getByTestId('pane-original').evaluate((el) => el.outerHTML.slice(0, 600)).catch(() => '?');
    await page.screenshot({ path: 'test-output/viewer-bench-failure.png' }).catch(() => undefined);
    throw new Error(`${e instanceof Error ? e.message : String(e)}; pane: ${state}; page errors: ${session.pageErrors.join(' | ')}`);
  } finally {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
