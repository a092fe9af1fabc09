/**
 * The viewer on a 2,000-slice 512x512 thin-section CT (issue #23) in Chromium, browser mode (the real
 * main services in this process over the loopback bridge): import → first pixels, key → slice on screen
 * while keys arrive at 30 slices/s (not waiting for each slice) on the first pass down and back up (end to
 * end twice), slices skipped because the next key came first, and the renderer's and main's RSS after.
 * The series is write_big_study.py's (Colin27, HU-scaled) in a temporary folder.
 * `npm run bench -- viewer-big`; HEALTHGPT_BENCH_BIG_SLICES shrinks it.
 */
import { rmSync } from 'node:fs';
import { openBrowserSession } from '../test/support/browser-session';
import { makeBigStudy } from '../test/support/big-study-fixtures';
import { percentile, type BenchRow } from './bench-types';
import { rendererRssMiB } from './viewer.bench';

const SLICES = Number(process.env.HEALTHGPT_BENCH_BIG_SLICES ?? 2000);
const KEY_INTERVAL_MS = 1000 / 30;
const B = 'viewer big study';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runViewerBigStudyBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const study = makeBigStudy(512, SLICES, 0);
  const session = await openBrowserSession();
  const { page } = session;
  const pane = '[data-testid="pane-original"]';
  const note = `${SLICES} slices 512x512 int16 CT, Chromium ${session.browser.version()}, browser mode`;
  try {
    await page.getByTestId('shell').waitFor();
    const t0 = performance.now();
    await page.getByTestId('import-paths').fill(study.seriesDir);
    await page.getByTestId('import-button').click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'rendered', pane, { timeout: 300_000 });
    const tFirst = performance.now() - t0;
    await page.getByTestId('import-report').waitFor({ timeout: 600_000 });
    const tImported = performance.now() - t0;
    rows.push({ benchmark: B, metric: 'import → first pixels on screen', value: tFirst, unit: 'ms', note: `${note}; target < 300 ms` });
    rows.push({ benchmark: B, metric: 'import of the whole series', value: SLICES / (tImported / 1000), unit: 'files/s', note: `${tImported.toFixed(0)} ms` });
    await page.waitForFunction(([sel, n]) => document.querySelector(sel as string)?.getAttribute('data-count') === String(n), [pane, SLICES] as const, { timeout: 60_000 });

    const pass = async (label: string, start: 'Home' | 'End', key: 'ArrowDown' | 'ArrowUp') => {
      await page.getByTestId('viewport-original').focus();
      await page.keyboard.press(start);
      const startIndex = start === 'Home' ? 0 : SLICES - 1;
      await page.waitForFunction(([sel, i]) => document.querySelector(sel as string)?.getAttribute('data-rendered-index') === String(i), [pane, startIndex] as const, { timeout: 60_000 });
      await page.evaluate(() => performance.clearMeasures('hgpt-slice-render'));
      const t = performance.now();
      for (let k = 1; k < SLICES; k += 1) {
        await page.keyboard.press(key);
        const due = t + k * KEY_INTERVAL_MS;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const endIndex = start === 'Home' ? SLICES - 1 : 0;
      await page.waitForFunction(([sel, i]) => document.querySelector(sel as string)?.getAttribute('data-rendered-index') === String(i), [pane, endIndex] as const, { timeout: 120_000 });
      const rate = (SLICES - 1) / ((performance.now() - t) / 1000);
      const samples = await page.evaluate(() => performance.getEntriesByName('hgpt-slice-render').map((e) => e.duration));
      rows.push({ benchmark: B, metric: `key → slice on screen at 30 slices/s, ${label}, p50`, value: percentile(samples, 50), unit: 'ms', note: `${samples.length} of ${SLICES - 1} slices drawn (others superseded by the next key); keys sent at ${rate.toFixed(1)}/s` });
      rows.push({ benchmark: B, metric: `key → slice on screen at 30 slices/s, ${label}, p95`, value: percentile(samples, 95), unit: 'ms', note: 'target ≤ 16.7 ms; prefetch 8 ahead in the scroll direction' });
    };
    await pass('first pass down', 'Home', 'ArrowDown');
    await pass('second pass up', 'End', 'ArrowUp');
    const rss = await rendererRssMiB(session.browser);
    if (rss !== null) rows.push({ benchmark: B, metric: 'renderer RSS after scrolling end to end twice', value: rss, unit: 'MiB', note: `series pixels ${((SLICES * 512 * 512 * 2) / 2 ** 20).toFixed(0)} MiB; image cache 640 MiB; target < 1.5 GB` });
    rows.push({ benchmark: B, metric: 'main RSS after scrolling end to end twice', value: process.memoryUsage().rss / 2 ** 20, unit: 'MiB', note: 'this process: main services, workers and the bench; target < 1.5 GB' });
  } catch (e) {
    await page.screenshot({ path: 'test-output/viewer-big-bench-failure.png' }).catch(() => undefined);
    throw new Error(`${e instanceof Error ? e.message : String(e)}; page errors: ${session.pageErrors.join(' | ')}`);
  } finally {
    await session.close();
    rmSync(study.dir, { recursive: true, force: true });
  }
  return rows;
}
