import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeriesDetail } from '../../src-shared/contracts/dicom';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { paceDecoding } from '../support/paced-decoding';
import { dciodvfy, makeWorkflowSeries, packFolders, randomPack, workflowPack, type WorkflowPack } from '../support/workflow-fixtures';

/**
 * The reading workflow in Chromium against browser mode, like a person would run it: the model panel
 * shows the pack; import the Colin27 MRI and the CT series (write_series.py); ask about the left pane's
 * slice and watch the answer stream in; cancel mid-stream; generate 4x SR on one slice and on a range
 * (progress moves, the right pane shows the generated slice at the linked location); review; export the
 * series as DICOM (dciodvfy: no errors), the report and a PNG; restart on the same data folder and find
 * the review in the History panel. Uses the shipped nano pack when present, else a random-weight pack.
 */

describe('reading workflow: ask, generate, review, export', () => {
  let pack: WorkflowPack;
  let series: string;
  let dataDir: string;
  let resourcesDir: string | undefined;
  let session: BrowserSession;
  let page: Page;
  let srRun = '';
  let srSeries = '';
  const exportDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-export-'));

  const attr = async (testId: string, name: string) => (await page.getByTestId(testId).first().getAttribute(name)) ?? '';
  const detailOf = (seriesUid: string): Promise<SeriesDetail> => Promise.resolve(session.mode.services.dicom.getSeries(seriesUid));

  async function start() {
    session = await openBrowserSession({ dataDir, exportDir, ...(resourcesDir ? { resourcesDir } : {}) });
    page = session.page;
  }

  beforeAll(async () => {
    pack = workflowPack();
    series = makeWorkflowSeries();
    if (pack.nano) {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-data-'));
    } else {
      const f = packFolders(pack);
      dataDir = f.dataDir;
      resourcesDir = f.resourcesDir;
    }
    await start();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('model panel: the loaded pack, its intended use, demonstration note, provider and tasks', async () => {
    const loaded = page.getByTestId('pack-loaded');
    await loaded.waitFor({ timeout: 60_000 });
    expect(await loaded.getAttribute('data-name')).toBe(pack.name);
    expect(await loaded.getAttribute('data-provider')).toBe('cpu');
    expect(await page.getByTestId('pack-demo').textContent()).toMatch(/demonstration model, not for clinical use/i);
    expect(await page.getByTestId('pack-intended-use').textContent()).toMatch(/not for clinical use/i);
    expect(await page.getByTestId('pack-provider').textContent()).toMatch(/CPU/);
    const tasks = (await loaded.getAttribute('data-tasks'))?.split(',') ?? [];
    expect(tasks).toEqual(expect.arrayContaining(['vqa', 'sr']));
    // Only the generation tasks the pack offers are choices.
    const options = await page.getByTestId('generate-task').locator('option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(options.length).toBeGreaterThan(0);
    for (const o of options) expect(tasks).toContain(o);
    await screenshot(page, 'workflow-01-pack');
  });

  it('imports the MRI and CT series and opens the MRI in the left pane', async () => {
    await page.getByTestId('import-paths').fill(`${series}/mr_axial\n${series}/ct_series`);
    await page.getByTestId('import-button').click();
    await expect.poll(async () => page.getByTestId('import-report').getAttribute('data-imported'), { timeout: 60_000 }).toBe('50');
    const mr = page.locator('[data-testid="series"][data-description^="T1 axial 1 mm"]');
    await mr.focus();
    await page.keyboard.press('Enter');
    const uid = await mr.getAttribute('data-series-uid');
    await expect.poll(async () => (await attr('pane-original', 'data-series')) === uid && attr('pane-original', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    expect(await attr('pane-generated', 'data-series')).toBe('');
    expect(await attr('pane-original', 'data-count')).toBe('40');
    expect(await page.getByTestId('ask-target').textContent()).toMatch(/slice 21 of 40 · MR/);
    await screenshot(page, 'workflow-02-open');
  });

  it('asks about the current slice: the answer appears with its run id and is saved to the case', async () => {
    await page.getByTestId('ask-question').fill('What is shown in this image?');
    await page.getByTestId('ask-button').click();
    const final = page.getByTestId('ask-final');
    await final.waitFor({ timeout: 120_000 });
    const runId = (await final.getAttribute('data-run-id')) ?? '';
    expect(runId).toMatch(/^run-/);
    expect(await final.textContent()).toContain(runId);
    expect(await attr('ask-answer', 'data-state')).toBe('done');
    const shown = (await page.getByTestId('ask-answer').textContent()) ?? '';
    expect(shown.length).toBeGreaterThan(0);
    const saved = await session.mode.services.history.findRun(runId);
    expect(saved?.run.outputs.find((o) => o.kind === 'text')?.text).toBe(shown);
    await screenshot(page, 'workflow-03-answer');
  });

  it('generates 4x SR on the current slice: one job, the right pane shows it at the linked location', async () => {
    await page.getByTestId('generate-task').selectOption('sr');
    await page.getByTestId('scope-slice').check();
    const leftIndex = Number(await attr('pane-original', 'data-index'));
    await page.getByTestId('generate-button').click();
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => outcome.getAttribute('data-complete'), { timeout: 240_000 }).toBe('true');
    const uid = (await outcome.getAttribute('data-series')) ?? '';
    expect(uid).not.toBe('');
    expect(await outcome.getAttribute('data-written')).toBe('1');
    await expect.poll(async () => (await attr('pane-generated', 'data-series')) === uid && (await attr('pane-generated', 'data-state')), { timeout: 30_000 }).toBe('rendered');
    const gen = await detailOf(uid);
    const orig = await detailOf((await attr('pane-original', 'data-series')) || '');
    expect(gen.images).toHaveLength(1);
    const src = orig.images[leftIndex]!;
    const out = gen.images[0]!;
    expect(out.columns).toBe(src.columns * 4);
    expect(out.rows).toBe(src.rows * 4);
    expect(out.pixelSpacing?.[0]).toBeCloseTo((src.pixelSpacing?.[0] ?? 0) / 4, 6);
    // Same plane: the generated slice is where the left pane is (distance along the normal ~0).
    const n = orig.sliceNormal ?? [0, 0, 1];
    const d = (out.imagePositionPatient ?? [0, 0, 0]).reduce((s, v, k) => s + (v - (src.imagePositionPatient?.[k] ?? 0)) * (n[k] ?? 0), 0);
    expect(Math.abs(d)).toBeLessThan(0.01);
    expect(await page.getByTestId('ai-banner').isVisible()).toBe(true);
    expect(await page.getByTestId('overlay-tr-generated').textContent()).toMatch(/AI/);
    await screenshot(page, 'workflow-05-sr-slice');
  }, 600_000); // the nano generates SR in overlapping 32-px tiles: tens of seconds a slice on 2 CPU cores

  it('generates SR on a slice range with per-slice progress; the right pane follows the left', async () => {
    await page.getByTestId('scope-range').check();
    await page.getByTestId('range-from').fill('20');
    await page.getByTestId('range-to').fill('22');
    await page.evaluate(() => {
      const w = window as unknown as { __progress: string[] };
      w.__progress = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="generate-progress"]');
        if (el) w.__progress.push(`${el.getAttribute('data-done')}/${el.getAttribute('data-written')}`);
      }).observe(document.body, { subtree: true, attributes: true, childList: true });
    });
    await page.getByTestId('generate-button').click();
    await page.getByTestId('generate-progress').waitFor({ timeout: 30_000 });
    expect(await attr('generate-progress', 'data-total')).toBe('3');
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => (await outcome.count()) > 0 && (await outcome.getAttribute('data-written')) === '3' && (await outcome.getAttribute('data-complete')), { timeout: 540_000 }).toBe('true');
    const seen = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    const written = [...new Set(seen.map((s) => Number(s.split('/')[1])))];
    const done = [...new Set(seen.map((s) => Number(s.split('/')[0])))];
    expect(written.filter((w) => w > 0 && w < 3).length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeGreaterThanOrEqual(3);
    srRun = (await outcome.getAttribute('data-run-id')) ?? '';
    srSeries = (await outcome.getAttribute('data-series')) ?? '';
    await expect.poll(async () => (await attr('pane-generated', 'data-series')) === srSeries && (await attr('pane-generated', 'data-count')), { timeout: 30_000 }).toBe('3');
    // Linked: the right pane shows the generated slice at the left pane's location (slice 21 = 2nd of 20..22)…
    expect(await attr('pane-original', 'data-index')).toBe('20');
    await expect.poll(async () => attr('pane-generated', 'data-rendered-index'), { timeout: 15_000 }).toBe('1');
    // …and scrolling the left pane moves the right pane with it.
    await page.getByTestId('viewport-original').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => attr('pane-original', 'data-index')).toBe('21');
    await expect.poll(async () => attr('pane-generated', 'data-rendered-index'), { timeout: 15_000 }).toBe('2');
    await screenshot(page, 'workflow-06-sr-range');
  }, 600_000); // the nano generates SR in overlapping 32-px tiles: tens of seconds a slice on 2 CPU cores

  it('reviews the run and exports the series (dciodvfy: no errors), the report and a PNG of the view', async () => {
    const follow = page.getByTestId('run-follow-up');
    expect(await follow.getAttribute('data-run-id')).toBe(srRun);
    await page.getByTestId('run-review-comment').fill('e2e: sharp enough');
    await page.getByTestId('run-accept').click();
    await expect.poll(async () => page.getByTestId('run-review').count()).toBe(1);
    expect(await page.getByTestId('run-review').getAttribute('data-decision')).toBe('accepted');

    // Main names every export and writes it to the export folder; the panel says where.
    expect(await page.getByTestId('export-folder').textContent()).toContain(exportDir);
    await page.getByTestId('export-series').click();
    await expect.poll(async () => page.getByTestId('export-done').count(), { timeout: 30_000 }).toBe(1);
    await page.getByTestId('export-png').click();
    await expect.poll(async () => page.getByTestId('export-done').count(), { timeout: 30_000 }).toBe(2);
    expect(await page.getByTestId('export-problem').count()).toBe(0);
    const seriesDir = readdirSync(exportDir).find((n) => n.startsWith('AI-sr-'));
    expect(seriesDir).toBeDefined();
    const files = readdirSync(path.join(exportDir, seriesDir!)).filter((f) => f.endsWith('.dcm'));
    expect(files).toHaveLength(3);
    for (const f of files) {
      const v = dciodvfy(path.join(exportDir, seriesDir!, f));
      expect(v.errors, v.output).toEqual([]);
    }
    const png = readdirSync(exportDir).find((n) => n.endsWith('.png'));
    expect(png).toBeDefined();
    expect([...readFileSync(path.join(exportDir, png!)).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    await screenshot(page, 'workflow-07-review-export');

    // The report of a question exports as Markdown.
    await page.getByTestId('ask-max-tokens').fill('24');
    await page.getByTestId('ask-question').fill('Which modality is this?');
    await page.getByTestId('ask-button').click();
    await expect.poll(async () => page.getByTestId('export-report').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('export-report').click();
    await expect.poll(async () => page.getByTestId('export-done').count(), { timeout: 30_000 }).toBe(1);
    const md = readdirSync(exportDir).find((n) => n.endsWith('.md'));
    expect(md).toBeDefined();
    const report = readFileSync(path.join(exportDir, md!), 'utf8');
    expect(report).toMatch(/^# Answer/);
    expect(report).toContain('Which modality is this?');
  });

  it('CT→MRI on the whole CT series; SR on the whole MRI series cancelled part-way is kept, marked INCOMPLETE', async () => {
    const openLeft = async (description: string) => {
      const item = page.locator(`[data-testid="series"][data-description^="${description}"]`);
      await item.focus();
      await page.keyboard.press('Enter');
      const uid = await item.getAttribute('data-series-uid');
      await expect.poll(async () => (await attr('pane-original', 'data-series')) === uid && attr('pane-original', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    };
    await openLeft('CT from CT_small');
    await page.getByTestId('generate-task').selectOption('ct2mri');
    await page.getByTestId('scope-series').check();
    await page.getByTestId('generate-button').click();
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => (await outcome.getAttribute('data-written')) === '10' && (await outcome.getAttribute('data-complete')), { timeout: 180_000 }).toBe('true');
    const mrUid = (await outcome.getAttribute('data-series')) ?? '';
    await expect.poll(async () => (await attr('pane-generated', 'data-series')) === mrUid && (await attr('pane-generated', 'data-count')), { timeout: 30_000 }).toBe('10');
    expect(await page.getByTestId('overlay-tr-generated').textContent()).toMatch(/MR \d+×\d+/);
    expect((await detailOf(mrUid)).modality).toBe('MR');
    await screenshot(page, 'workflow-09-ct2mri');

    await openLeft('T1 axial 1 mm');
    await page.getByTestId('generate-task').selectOption('sr');
    await page.getByTestId('scope-series').check();
    await page.getByTestId('generate-button').click();
    await expect.poll(async () => Number(await attr('generate-progress', 'data-written')), { timeout: 240_000 }).toBeGreaterThanOrEqual(1);
    expect(Number(await attr('generate-eta', 'data-seconds'))).toBeGreaterThan(0);
    await page.getByTestId('generate-cancel').click();
    await page.getByTestId('generate-incomplete').waitFor({ timeout: 60_000 });
    expect(await outcome.getAttribute('data-complete')).toBe('false');
    const written = Number(await outcome.getAttribute('data-written'));
    expect(written).toBeGreaterThanOrEqual(1);
    expect(written).toBeLessThan(40);
    const partial = (await outcome.getAttribute('data-series')) ?? '';
    await expect.poll(async () => (await attr('pane-generated', 'data-series')) === partial && (await attr('pane-generated', 'data-count')), { timeout: 30_000 }).toBe(String(written));
    await expect.poll(async () => page.getByTestId('overlay-tr-generated').textContent(), { timeout: 15_000 }).toMatch(/INCOMPLETE/);
    expect((await detailOf(partial)).seriesDescription).toMatch(/INCOMPLETE/);
    await expect.poll(() => session.mode.services.jobs.running()).toBe(0);
    await screenshot(page, 'workflow-10-cancelled-series');
  }, 600_000); // the nano generates SR in overlapping 32-px tiles: tens of seconds a slice on 2 CPU cores

  it('after a restart on the same data folder, the review is in the History panel', async () => {
    await session.close();
    expect(existsSync(dataDir)).toBe(true);
    await start();
    await page.getByTestId('tab-history').click();
    const colin = page.getByTestId('history-case').filter({ hasText: 'Colin27' });
    await colin.waitFor({ timeout: 30_000 });
    await colin.click();
    await page.getByTestId('history-case-view').waitFor();
    const review = page.getByTestId('history-review').filter({ hasText: 'e2e: sharp enough' });
    await review.waitFor({ timeout: 15_000 });
    expect(await review.textContent()).toMatch(/accepted/);
    expect(session.pageErrors).toEqual([]);
    await screenshot(page, 'workflow-08-history');
  });
});

describe('streamed answers: incremental display and cancel mid-stream (random-weight pack: answers run to the length limit)', () => {
  let session: BrowserSession;
  let page: Page;
  const attr = async (testId: string, name: string) => (await page.getByTestId(testId).first().getAttribute(name)) ?? '';

  beforeAll(async () => {
    // Random weights give long answers (a trained pack stops after a few words). Even so, a fast CPU decodes
    // a whole answer within one 100 ms progress interval, so each test paces the engine's tokens (paceDecoding).
    const f = packFolders(randomPack());
    session = await openBrowserSession(f);
    page = session.page;
    const series = makeWorkflowSeries();
    await page.getByTestId('pack-loaded').waitFor({ timeout: 60_000 });
    await page.getByTestId('import-paths').fill(`${series}/mr_axial`);
    await page.getByTestId('import-button').click();
    await page.locator('[data-testid="import-report"][data-imported="40"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="pane-original"][data-state="rendered"]').waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('asks about the current slice: the answer streams in token by token and ends with its run id', async () => {
    await page.evaluate(() => {
      const w = window as unknown as { __answerLengths: number[] };
      w.__answerLengths = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="ask-answer"]');
        if (el?.getAttribute('data-state') === 'streaming') w.__answerLengths.push(Number(el.getAttribute('data-length')));
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId('ask-question').fill('What is shown in this image?');
    // 300 tokens at 4 ms each: about 1.2 s of streaming, a dozen progress intervals.
    const restore = paceDecoding(session.mode.services.model.current, { msPerToken: 4 });
    await page.getByTestId('ask-max-tokens').fill('300');
    await page.getByTestId('ask-button').click();
    const final = page.getByTestId('ask-final');
    await final.waitFor({ timeout: 120_000 }).finally(restore);
    const lengths = await page.evaluate(() => (window as unknown as { __answerLengths: number[] }).__answerLengths);
    const distinct = [...new Set(lengths.filter((n) => n > 0))];
    // Several partial lengths were on screen before the answer was complete, growing.
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    const runId = (await final.getAttribute('data-run-id')) ?? '';
    expect(runId).toMatch(/^run-/);
    expect(await final.textContent()).toContain(runId);
    const text = (await page.getByTestId('ask-answer').textContent()) ?? '';
    expect(text.length).toBeGreaterThanOrEqual(Math.max(...distinct));
    expect(await attr('ask-answer', 'data-state')).toBe('done');
    await screenshot(page, 'workflow-stream-answer');
  });

  it('cancel mid-stream keeps the partial answer, ends the job, and the next question works', async () => {
    // 40 tokens stream in, then the rest is held until the cancel: it always lands mid-stream, however
    // fast this machine decodes.
    const restore = paceDecoding(session.mode.services.model.current, { msPerToken: 2, holdAfter: 40 });
    await page.getByTestId('ask-max-tokens').fill('2048');
    await page.getByTestId('draft-report').click();
    await expect.poll(async () => Number(await attr('ask-answer', 'data-length')), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await attr('ask-answer', 'data-state')).toBe('streaming');
    await page.getByTestId('ask-cancel').click();
    const final = page.getByTestId('ask-final');
    await expect.poll(async () => final.getAttribute('data-stop'), { timeout: 30_000 }).toBe('cancelled').finally(restore);
    expect(await attr('ask-answer', 'data-state')).toBe('cancelled');
    expect(Number(await attr('ask-answer', 'data-length'))).toBeGreaterThan(0);
    expect(await page.getByTestId('ask-cancel').count()).toBe(0);
    await expect.poll(() => session.mode.services.jobs.running()).toBe(0);
    await screenshot(page, 'workflow-stream-cancelled');
    // A consistent state: the same panel asks again.
    await page.getByTestId('ask-max-tokens').fill('16');
    await page.getByTestId('ask-button').click();
    await expect.poll(async () => final.getAttribute('data-stop'), { timeout: 60_000 }).not.toBe('cancelled');
    expect(await page.getByTestId('ask-problem').count()).toBe(0);
  });
});
