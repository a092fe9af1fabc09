import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import type { CallContext } from '../../../src-main/ipc/registry';
import { createServices, type Services } from '../../../src-main/services';
import { ensureGeneratedSeries } from '../dicom/fixtures';
import { cachedTinyPack, type BuiltPack } from '../model/pack-fixture';
import { readDicom } from '../../support/dicom-read';
import { DEMONSTRATION_REPORT_WARNING } from '../../../src-shared/question-types';

const REPO = path.resolve(import.meta.dirname, '../../..');
const MR_SERIES = path.join(REPO, 'test/fixtures/generated/mr_axial');

function recordingCtx() {
  const events: Array<{ channel: string; payload: Record<string, unknown> }> = [];
  const ctx: CallContext = {
    sink: { id: `test-${Math.random()}`, send: (channel, payload) => events.push({ channel, payload: payload as Record<string, unknown> }), isAlive: () => true },
    sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
  };
  return { ctx, events };
}

async function call<T>(services: Services, channel: string, payload: unknown, ctx: CallContext): Promise<T> {
  const r = await services.registry.dispatch(channel, payload, ctx);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value as T;
}

async function runJob(services: Services, channel: string, payload: unknown, ctx = recordingCtx().ctx): Promise<JobFinal> {
  const { jobId } = await call<{ jobId: string }>(services, channel, payload, ctx);
  return services.jobs.wait(jobId);
}

describe('reading workflow in main: ask, generate, history, export (tiny random pack, real MR series)', () => {
  let pack: BuiltPack;
  let services: Services;
  let seriesUid: string;
  let resources: string;

  beforeAll(async () => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    resources = mkdtempSync(path.join(os.tmpdir(), 'hgpt-wf-res-'));
    mkdirSync(path.join(resources, 'packs'));
    cpSync(pack.dir, path.join(resources, 'packs', 'tiny'), { recursive: true });
    services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-wf-data-')), resourcesDir: resources });
    const imported = await runJob(services, 'dicom:import', { paths: [MR_SERIES] });
    expect(imported.status).toBe('done');
    const studies = await call<Array<{ series: Array<{ seriesUid: string; imageCount: number }> }>>(services, 'dicom:list-studies', {}, recordingCtx().ctx);
    seriesUid = studies.flatMap((s) => s.series).find((s) => s.imageCount >= 20)!.seriesUid;
  }, 300_000);

  afterAll(async () => {
    await services?.close();
    pack?.cleanup();
  });

  it('a drafted report of a demonstration pack carries the demonstration warning inside its text, streamed and saved', async () => {
    const { ctx, events } = recordingCtx();
    const final = await runJob(services, 'workflow:ask', { seriesUid, sliceIndex: 20, task: 'report', question: '', maxTokens: 8 }, ctx);
    expect(final.status, JSON.stringify(final)).toBe('done');
    const result = (final as { result: { text: string; runId: string; caseId: string } }).result;
    expect(result.text.startsWith(DEMONSTRATION_REPORT_WARNING)).toBe(true);
    const streamed = events.filter((e) => e.channel === 'jobs:progress').map((e) => (e.payload.appendText as string | undefined) ?? '').join('');
    expect(streamed.startsWith(DEMONSTRATION_REPORT_WARNING)).toBe(true);
    const run = (await services.history.getCase(result.caseId)).runs.find((r) => r.runId === result.runId)!;
    expect(run.outputs.find((o) => o.kind === 'text')?.text).toBe(result.text);
  });

  it('asks about a slice: the answer streams token by token and is saved to the case', async () => {
    const { ctx, events } = recordingCtx();
    const final = await runJob(services, 'workflow:ask', { seriesUid, sliceIndex: 20, question: 'Is there an abnormality?', maxTokens: 12 }, ctx);
    expect(final.status, JSON.stringify(final)).toBe('done');
    const result = (final as { result: { text: string; runId: string; caseId: string; provider: string } }).result;
    const streamed = events.filter((e) => e.channel === 'jobs:progress').map((e) => (e.payload.appendText as string | undefined) ?? '').join('');
    expect(streamed.length).toBeGreaterThan(0);
    expect(result.text.startsWith(streamed.slice(0, Math.min(streamed.length, result.text.length)))).toBe(true);
    expect(result.provider).toBe('cpu');
    const detail = await services.history.getCase(result.caseId);
    const run = detail.runs.find((r) => r.runId === result.runId)!;
    expect(run.status).toBe('succeeded');
    expect(run.prompt).toBe('Is there an abnormality?');
    expect(run.executionProvider).toBe('cpu');
    expect(run.outputs.find((o) => o.kind === 'text')?.text).toBe(result.text);
    expect(run.inputSeriesIds).toHaveLength(1);

    const written = await call<{ path: string }>(services, 'workflow:export-report', { runId: result.runId, format: 'md' }, ctx);
    expect(path.dirname(written.path)).toBe(services.exports.folder);
    expect(readFileSync(written.path, 'utf8')).toContain(result.text);
  });

  it('generates 4x super-resolution on a slice range as a derived DICOM series with correct geometry', async () => {
    const { ctx, events } = recordingCtx();
    const final = await runJob(services, 'workflow:generate', { seriesUid, task: 'sr', from: 19, to: 21 }, ctx);
    expect(final.status, JSON.stringify(final)).toBe('done');
    const out = (final as { result: { generatedSeriesUid: string; slicesWritten: number; complete: boolean; outputFolder: string; runId: string; caseId: string } }).result;
    expect(out).toMatchObject({ slicesWritten: 3, complete: true });
    const progress = events.filter((e) => e.channel === 'jobs:progress').map((e) => e.payload.done as number);
    expect(progress.at(-1)).toBe(3);
    expect(events.some((e) => e.channel === 'jobs:progress' && (e.payload.data as { generatedSeriesUid?: string } | undefined)?.generatedSeriesUid === out.generatedSeriesUid)).toBe(true);

    const source = await call<{ rows: number; columns: number; frameOfReferenceUid: string | null; images: Array<{ pixelSpacing: number[] | null; imagePositionPatient: number[] | null }> }>(services, 'dicom:get-series', { seriesUid }, ctx);
    const generated = await call<{ rows: number; columns: number; imageCount: number; modality: string; frameOfReferenceUid: string | null; seriesDescription: string; images: Array<{ pixelSpacing: number[] | null; imagePositionPatient: number[] | null }> }>(services, 'dicom:get-series', { seriesUid: out.generatedSeriesUid }, ctx);
    expect(generated.imageCount).toBe(3);
    expect(generated.rows).toBe(source.rows * 4);
    expect(generated.columns).toBe(source.columns * 4);
    expect(generated.frameOfReferenceUid).toBe(source.frameOfReferenceUid);
    expect(generated.seriesDescription).toMatch(new RegExp(`^AI SR x4 ${out.runId.slice(4, 12)} UNREVIEWED`));
    const inSpacing = source.images[20]!.pixelSpacing!;
    expect(generated.images[1]!.pixelSpacing![0]).toBeCloseTo(inSpacing[0]! / 4, 6);
    // Same slice locations as the input slices 19..21 (the in-plane corner moves by 3/8 of an input pixel).
    for (let k = 0; k < 3; k += 1) {
      const a = source.images[19 + k]!.imagePositionPatient!;
      const b = generated.images[k]!.imagePositionPatient!;
      expect(Math.abs(a[2]! - b[2]!)).toBeLessThan(1e-3);
      expect(Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!)).toBeCloseTo(Math.hypot(inSpacing[0]!, inSpacing[1]!) * (3 / 8), 3);
    }
    for (const f of readdirSync(out.outputFolder).filter((n) => n.endsWith('.dcm'))) {
      const v = spawnSync('dciodvfy', [path.join(out.outputFolder, f)], { encoding: 'utf8' });
      expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
    }
    const detail = await services.history.getCase(out.caseId);
    const run = detail.runs.find((r) => r.runId === out.runId)!;
    expect(run.status).toBe('succeeded');
    const seriesOut = run.outputs.find((o) => o.kind === 'series')!;
    expect(seriesOut.artifacts).toHaveLength(3);
    expect(seriesOut.artifacts.every((a) => a.status === 'ok')).toBe(true);

    // Not reviewed yet: the export asks first (a confirmation), and the files say "unreviewed".
    const unconfirmed = await services.registry.dispatch('workflow:export-series', { generatedSeriesUid: out.generatedSeriesUid }, ctx);
    expect(unconfirmed).toMatchObject({ ok: false, error: { code: 'WORKFLOW_REVIEW_NOT_ACCEPTED', message: expect.stringMatching(/has not been reviewed/) } });
    const exported = await call<{ folder: string; files: number }>(services, 'workflow:export-series', { generatedSeriesUid: out.generatedSeriesUid, confirmReview: true }, ctx);
    expect(exported.files).toBe(3);
    expect(path.basename(exported.folder)).toMatch(/^AI-sr-[0-9a-f]{8}-\d{8}-\d{6}$/);
    // The shell user's own folder (the CLI's --out) may already exist; no file in it is ever replaced.
    // Rejected: asks again; confirmed (no policy forbids it here), every file says "rejected".
    await services.history.recordReview({ runId: out.runId, decision: 'rejected' });
    await expect(services.workflow.exportSeries(out.generatedSeriesUid, path.join(services.exports.folder, 'rejected'))).rejects.toThrow(/was rejected by/);
    const rejected = await services.workflow.exportSeries(out.generatedSeriesUid, path.join(services.exports.folder, 'rejected'), { confirmReview: true });
    expect(rejected.reviewState).toBe('rejected');
    expect(readDicom(path.join(rejected.folder, '0001.dcm')).SeriesDescription).toMatch(/ REJECTED/);
    await services.history.recordReview({ runId: out.runId, decision: 'accepted' });
    const again = await services.workflow.exportSeries(out.generatedSeriesUid, path.join(services.exports.folder, 'cli-out'));
    expect(again).toMatchObject({ files: 3, reviewState: 'accepted' });
    // Exported from the slices stored in the history: the bytes the run wrote, with the review stamped in.
    for (const name of readdirSync(out.outputFolder)) {
      const exportedDs = readDicom(path.join(again.folder, name));
      const writtenDs = readDicom(path.join(out.outputFolder, name));
      expect(exportedDs.SOPInstanceUID).toBe(writtenDs.SOPInstanceUID);
      expect(Buffer.from((exportedDs.PixelData as ArrayBuffer[])[0]!).equals(Buffer.from((writtenDs.PixelData as ArrayBuffer[])[0]!))).toBe(true);
      expect(exportedDs.SeriesDescription).toMatch(/ ACCEPTED/);
      expect(String(exportedDs.DerivationDescription)).toMatch(new RegExp(`review: accepted by ${services.history.actor} on `));
    }
    await expect(services.workflow.exportSeries(out.generatedSeriesUid, again.folder)).rejects.toThrow(/already exists and is never replaced/);
    await expect(services.workflow.exportSeries('2.25.1', path.join(services.exports.folder, 'none'))).rejects.toThrow(/No generated series 2\.25\.1/);
  });

  it('a cancelled series keeps what is done, marked incomplete, and the run is recorded as cancelled', async () => {
    const { ctx, events } = recordingCtx();
    const { jobId } = await call<{ jobId: string }>(services, 'workflow:generate', { seriesUid, task: 'mri2ct' }, ctx);
    for (let i = 0; i < 600 && !events.some((e) => e.channel === 'jobs:progress' && e.payload.data); i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(services.jobs.cancel(jobId, ctx.sink)).toBe(true);
    const final = await services.jobs.wait(jobId);
    expect(final.status).toBe('cancelled');
    const out = (final as { result: { generatedSeriesUid: string; slicesWritten: number; slicesRequested: number; complete: boolean; runId: string; caseId: string } }).result;
    expect(out.complete).toBe(false);
    expect(out.slicesWritten).toBeGreaterThanOrEqual(1);
    expect(out.slicesWritten).toBeLessThan(out.slicesRequested);
    const generated = await call<{ seriesDescription: string; imageCount: number }>(services, 'dicom:get-series', { seriesUid: out.generatedSeriesUid }, ctx);
    const onDisk = spawnSync("dcmdump", ["+P", "SeriesDescription", path.join((final as { result: { outputFolder: string } }).result.outputFolder, "0001.dcm")], { encoding: "utf8" }).stdout;
    expect(onDisk).toMatch(/INCOMPLETE/);
    expect(generated.seriesDescription).toMatch(/INCOMPLETE/);
    expect(generated.imageCount).toBe(out.slicesWritten);
    const run = (await services.history.getCase(out.caseId)).runs.find((r) => r.runId === out.runId)!;
    expect(run.status).toBe('cancelled');
    expect(services.jobs.running()).toBe(0);
  });

  it('says clearly when there is no pack, and when the series has no image', async () => {
    const empty = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-wf-nopack-')), resourcesDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-wf-nores-')) });
    try {
      expect((await runJob(empty, 'dicom:import', { paths: [MR_SERIES] })).status).toBe('done');
      const studies = await call<Array<{ series: Array<{ seriesUid: string }> }>>(empty, 'dicom:list-studies', {}, recordingCtx().ctx);
      const final = await runJob(empty, 'workflow:generate', { seriesUid: studies[0]!.series[0]!.seriesUid, task: 'sr', from: 0, to: 0 });
      expect(final).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_NO_PACK', message: expect.stringMatching(/No model pack/) } });
      const unknown = await runJob(empty, 'workflow:generate', { seriesUid: '1.2.3.4', task: 'sr' });
      expect(unknown.status).toBe('failed');
    } finally {
      await empty.close();
    }
    expect(existsSync(MR_SERIES)).toBe(true);
  });
});
