import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { percentile, type BenchRow } from './bench-types';
import { openBrowserSession, type BrowserSession } from '../test/support/browser-session';
import { makeWorkflowSeries, packFolders, workflowPack } from '../test/support/workflow-fixtures';

/**
 * The reading workflow in Chromium against browser mode (the real services, the model panel, the viewer):
 * series throughput of one generate job over a 100-slice series (4x SR on the Colin27 MRI, CT→MRI on the
 * same slices HU-scaled as CT), UI frame time while the job runs (requestAnimationFrame deltas in the page;
 * at 60 Hz a frame is 16.7 ms, so p95 ≈ 16.7 ms means no dropped frames), and the time from the Generate
 * click to the first generated slice drawn in the right pane. Uses the shipped nano pack when present.
 */
interface JobTiming {
  firstOnScreenMs: number;
  totalMs: number;
  written: number;
  frames: number[];
  longTasks: number;
}

async function openLeft(page: Page, description: string): Promise<void> {
  const item = page.locator(`[data-testid="series"][data-description^="${description}"]`);
  await item.focus();
  await page.keyboard.press('Enter');
  const uid = await item.getAttribute('data-series-uid');
  await page.waitForFunction((u) => {
    const p = document.querySelector('[data-testid="pane-original"]');
    return p?.getAttribute('data-series') === u && p.getAttribute('data-state') === 'rendered';
  }, uid, { timeout: 60_000 });
}

/** Clicks Generate (whole series) and times it in the page: first generated slice drawn, job end, frames. */
async function timeGenerate(page: Page, task: string, slices: number): Promise<JobTiming> {
  await page.getByTestId('generate-task').selectOption(task);
  await page.getByTestId('scope-series').check();
  // tsx (esbuild keepNames) wraps named inner functions in __name(); give the page a no-op one.
  await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
  await page.evaluate(() => {
    type W = { __wf: { start: number; first: number | null; frames: number[]; longTasks: number; recording: boolean; before: string } };
    const w = window as unknown as W;
    const pane = document.querySelector('[data-testid="pane-generated"]')!;
    w.__wf = { start: 0, first: null, frames: [], longTasks: 0, recording: true, before: pane.getAttribute('data-series') ?? '' };
    new MutationObserver((_, obs) => {
      const s = pane.getAttribute('data-series') ?? '';
      if (w.__wf.first === null && s && s !== w.__wf.before && pane.getAttribute('data-state') === 'rendered' && Number(pane.getAttribute('data-renders')) > 0) {
        w.__wf.first = performance.now();
        obs.disconnect();
      }
    }).observe(pane, { attributes: true });
    try {
      new PerformanceObserver((list) => {
        if (w.__wf.recording) w.__wf.longTasks += list.getEntries().length;
      }).observe({ type: 'longtask' });
    } catch {
      // no Long Tasks API
    }
    let last = performance.now();
    const tick = (t: number) => {
      if (!w.__wf.recording) return;
      w.__wf.frames.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(tick);
    });
    w.__wf.start = performance.now();
    (document.querySelector('[data-testid="generate-button"]') as HTMLButtonElement).click();
  });
  await page.waitForFunction(
    (n) => {
      const o = document.querySelector('[data-testid="generate-outcome"]');
      return o?.getAttribute('data-complete') === 'true' && o.getAttribute('data-written') === String(n);
    },
    slices,
    { timeout: 3_600_000, polling: 250 },
  );
  return page.evaluate(() => {
    const w = (window as unknown as { __wf: { start: number; first: number | null; frames: number[]; longTasks: number; recording: boolean } }).__wf;
    w.recording = false;
    const o = document.querySelector('[data-testid="generate-outcome"]')!;
    return { firstOnScreenMs: (w.first ?? Number.NaN) - w.start, totalMs: performance.now() - w.start, written: Number(o.getAttribute('data-written')), frames: w.frames.slice(1), longTasks: w.longTasks };
  });
}

/** rAF deltas over a quiet period (no job): the floor the figures during a job compare with. */
async function idleFrames(page: Page, ms: number): Promise<number[]> {
  await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
  return page.evaluate(
    (duration) =>
      new Promise<number[]>((resolve) => {
        const out: number[] = [];
        let last = -1;
        const end = performance.now() + duration;
        const tick = (t: number) => {
          if (last >= 0) out.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else resolve(out.slice(1));
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

export async function runWorkflowBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const pack = workflowPack();
  const series = makeWorkflowSeries(true);
  const folders = pack.nano ? { dataDir: mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-bench-')) } : packFolders(pack);
  let session: BrowserSession | null = null;
  try {
    session = await openBrowserSession(folders);
    const { page } = session;
    await page.getByTestId('pack-loaded').waitFor({ timeout: 120_000 });
    const provider = (await page.getByTestId('pack-loaded').getAttribute('data-provider')) ?? '?';
    await page.getByTestId('import-paths').fill(`${series}/mr_bench100\n${series}/ct_bench100`);
    await page.getByTestId('import-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.getAttribute('data-imported') === '200', null, { timeout: 300_000 });
    const note = `${pack.name}${pack.random ? ' (RANDOM weights: nano pack absent)' : ''}, ${provider.toUpperCase()}, ${os.cpus().length} cores, Chromium ${session.browser.version()}, browser mode`;

    await openLeft(page, 'Bench MR 100');
    const idle = await idleFrames(page, 3000);
    rows.push({ benchmark: 'workflow', metric: 'UI frame time p95 with no job (reference)', value: percentile(idle, 95), unit: 'ms', note: `rAF deltas (${idle.length} frames) in this headless Chromium on this machine; max ${Math.max(...idle).toFixed(0)} ms` });
    const sr = await timeGenerate(page, 'sr', 100);
    rows.push({ benchmark: 'workflow', metric: 'SR 4x series throughput (100 MR slices 181x217, one job)', value: sr.written / (sr.totalMs / 1000), unit: 'sl/s', note: `${(sr.totalMs / 1000).toFixed(1)} s for ${sr.written} slices incl. DICOM write + re-import; ${note}` });
    rows.push({ benchmark: 'workflow', metric: 'Generate click → first generated slice on screen (SR)', value: sr.firstOnScreenMs, unit: 'ms', note: 'one slice generated, written as DICOM, imported, opened and drawn in the right pane' });
    rows.push({ benchmark: 'workflow', metric: 'UI frame time p95 during the SR series job', value: percentile(sr.frames, 95), unit: 'ms', note: `rAF deltas (${sr.frames.length} frames; 16.7 ms = 60 Hz floor); max ${Math.max(...sr.frames).toFixed(0)} ms; ${sr.longTasks} long tasks (>50 ms); target < 16.7` });

    await openLeft(page, 'Bench CT 100');
    const ct = await timeGenerate(page, 'ct2mri', 100);
    rows.push({ benchmark: 'workflow', metric: 'CT→MRI series throughput (100 CT slices 181x217, one job)', value: ct.written / (ct.totalMs / 1000), unit: 'sl/s', note: `${(ct.totalMs / 1000).toFixed(1)} s for ${ct.written} slices; ${note}` });
    rows.push({ benchmark: 'workflow', metric: 'Generate click → first generated slice on screen (CT→MRI)', value: ct.firstOnScreenMs, unit: 'ms' });
    rows.push({ benchmark: 'workflow', metric: 'UI frame time p95 during the CT→MRI series job', value: percentile(ct.frames, 95), unit: 'ms', note: `rAF deltas (${ct.frames.length} frames); max ${Math.max(...ct.frames).toFixed(0)} ms; ${ct.longTasks} long tasks (>50 ms); target < 16.7` });

    // The same job while the user plays cine through the left pane (the right pane follows each step).
    await page.getByTestId('viewport-original').focus();
    await page.keyboard.press('c');
    const cineOnly = await idleFrames(page, 3000);
    const cine = await timeGenerate(page, 'ct2mri', 100);
    await page.getByTestId('viewport-original').focus();
    await page.keyboard.press('c');
    rows.push({ benchmark: 'workflow', metric: 'UI frame time p95, cine playing, no job (reference)', value: percentile(cineOnly, 95), unit: 'ms', note: `rAF deltas (${cineOnly.length} frames); max ${Math.max(...cineOnly).toFixed(0)} ms; software-rendered canvas` });
    rows.push({ benchmark: 'workflow', metric: 'UI frame time p95, cine playing, during the CT→MRI job', value: percentile(cine.frames, 95), unit: 'ms', note: `rAF deltas (${cine.frames.length} frames); max ${Math.max(...cine.frames).toFixed(0)} ms; ${cine.longTasks} long tasks; ${(cine.written / (cine.totalMs / 1000)).toFixed(2)} slices/s` });
  } finally {
    await session?.close();
  }
  return rows;
}
