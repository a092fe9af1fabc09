import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import type { AskOutcome, ConfidenceMapView, GenerateOutcome } from '../../../src-shared/contracts/workflow';
import type { CallContext } from '../../../src-main/ipc/registry';
import { createServices, type Services } from '../../../src-main/services';
import { ensureGeneratedSeries } from '../dicom/fixtures';
import { cachedTinyPack, type BuiltPack } from '../model/pack-fixture';

// Confidence through the services and IPC, on the tiny random-weight pack and a real MR series: the figures
// are real probabilities, the words are spans of the recorded text, the map is stored with the run.
const REPO = path.resolve(import.meta.dirname, '../../..');
const MR_SERIES = path.join(REPO, 'test/fixtures/generated/mr_axial');
const CT_SERIES = path.join(REPO, 'test/fixtures/generated/ct_series');

const ctx: CallContext = {
  sink: { id: 'confidence-test', send: () => undefined, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

function readManifestUnit(dir: string): string {
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { tasks: { mri2ct?: { output?: { modality: string } } } };
  return m.tasks.mri2ct?.output?.modality === 'CT' ? 'HU' : 'fraction of input window';
}

async function call<T>(services: Services, channel: string, payload: unknown): Promise<T> {
  const r = await services.registry.dispatch(channel, payload, ctx);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value as T;
}

async function job<T>(services: Services, channel: string, payload: unknown): Promise<T> {
  const { jobId } = await call<{ jobId: string }>(services, channel, payload);
  const final: JobFinal = await services.jobs.wait(jobId);
  if (final.status !== 'done') throw new Error(JSON.stringify(final));
  return (final as { result: T }).result;
}

describe('confidence through the workflow and IPC (tiny random pack, real MR series)', () => {
  let pack: BuiltPack;
  let services: Services;
  let seriesUid: string;

  beforeAll(async () => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    const resources = mkdtempSync(path.join(os.tmpdir(), 'hgpt-conf-res-'));
    mkdirSync(path.join(resources, 'packs'));
    cpSync(pack.dir, path.join(resources, 'packs', 'tiny'), { recursive: true });
    services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-conf-data-')), resourcesDir: resources });
    await job(services, 'dicom:import', { paths: [MR_SERIES] });
    const studies = await call<Array<{ series: Array<{ seriesUid: string; imageCount: number }> }>>(services, 'dicom:list-studies', {});
    seriesUid = studies.flatMap((s) => s.series).find((s) => s.imageCount >= 20)!.seriesUid;
  }, 300_000);

  afterAll(async () => {
    await services?.close();
    pack?.cleanup();
  });

  it('an answer carries per-word probabilities over spans of its text (after the banner), recorded with the run', async () => {
    const out = await job<AskOutcome>(services, 'workflow:ask', { seriesUid, sliceIndex: 20, task: 'report', question: '', maxTokens: 10 });
    const c = out.confidence!;
    expect(c.overall > 0 && c.overall <= 1).toBe(true);
    expect(c.tokens).toBeGreaterThan(0);
    for (const w of c.words) {
      expect(out.text.slice(w.start, w.end)).toBe(w.text);
      expect(w.probability > 0 && w.probability <= 1).toBe(true);
      for (const a of w.alternatives) expect(a.probability > 0 && a.probability <= 1).toBe(true);
    }
    const run = (await services.history.getCase(out.caseId)).runs.find((r) => r.runId === out.runId)!;
    const stored = run.outputs.find((o) => o.label === 'Answer confidence')!;
    const bytes = (await services.history.readArtifact(stored.artifacts[0]!.hash)).bytes;
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual(c);
  });

  it('a generated slice has a confidence map at its geometry, stored with the run, not exported with the DICOM series', async () => {
    const out = await job<GenerateOutcome>(services, 'workflow:generate', { seriesUid, task: 'sr', from: 20, to: 21 });
    const f = out.confidence!;
    // a random pack over its image tokens: probabilities are real (0..1], entropy under a uniform guess's
    expect(f.meanProbability > 0 && f.meanProbability <= 1).toBe(true);
    expect(f.meanEntropyFraction > 0 && f.meanEntropyFraction <= 1).toBe(true);
    expect(f.lowFraction >= 0 && f.lowFraction <= 1).toBe(true);
    const series = await call<{ rows: number; columns: number }>(services, 'dicom:get-series', { seriesUid: out.generatedSeriesUid });
    const maps = await Promise.all([0, 1].map((k) => call<ConfidenceMapView>(services, 'workflow:confidence-map', { generatedSeriesUid: out.generatedSeriesUid, sliceIndex: k })));
    for (const m of maps) {
      expect([m.rows, m.cols]).toEqual([series.rows, series.columns]);
      expect(m.probability.length).toBe(m.rows * m.cols);
      // the map is the token figures resampled: its mean is near the tokens' mean
      const mean = m.probability.reduce((s, v) => s + v, 0) / m.probability.length / 255;
      expect(Math.abs(mean - m.summary.meanProbability)).toBeLessThan(0.02 + m.summary.meanProbability * 0.2);
    }
    expect((maps[0]!.summary.meanProbability + maps[1]!.summary.meanProbability) / 2).toBeCloseTo(f.meanProbability, 9);
    await expect(call(services, 'workflow:confidence-map', { generatedSeriesUid: out.generatedSeriesUid, sliceIndex: 2 })).rejects.toThrow(/No confidence map is recorded for slice 3/);
    const exported = await services.workflow.exportSeries(out.generatedSeriesUid!, path.join(services.exports.folder, 'conf-export'), { confirmReview: true });
    expect(exported.files).toBe(2);
    // the maps as a DICOM Secondary Capture series: valid for dciodvfy, aligned with the generated slices
    const sc = await services.workflow.exportConfidenceSeries(out.generatedSeriesUid!, path.join(services.exports.folder, 'conf-sc'));
    expect(sc.files).toBe(2);
    const imported = await job<{ seriesUids: string[] }>(services, 'dicom:import', { paths: [sc.folder] });
    const scSeries = await call<{ modality: string; rows: number; columns: number; frameOfReferenceUid: string | null; seriesDescription: string; images: Array<{ imagePositionPatient: number[] | null; pixelSpacing: number[] | null }> }>(services, 'dicom:get-series', { seriesUid: imported.seriesUids[0] });
    const gen = await call<{ frameOfReferenceUid: string | null; images: Array<{ imagePositionPatient: number[] | null; pixelSpacing: number[] | null }> }>(services, 'dicom:get-series', { seriesUid: out.generatedSeriesUid });
    expect(scSeries).toMatchObject({ modality: 'OT', rows: series.rows, columns: series.columns, frameOfReferenceUid: gen.frameOfReferenceUid });
    expect(scSeries.seriesDescription).toMatch(/^AI SR x4 [0-9a-f]{8} CONFIDENCE NOT FOR CLINICAL USE$/);
    scSeries.images.forEach((im, k) => {
      expect(im.imagePositionPatient).toEqual(gen.images[k]!.imagePositionPatient);
      expect(im.pixelSpacing).toEqual(gen.images[k]!.pixelSpacing);
    });
    for (const f of readdirSync(sc.folder)) {
      const v = spawnSync('dciodvfy', [path.join(sc.folder, f)], { encoding: 'utf8' });
      expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
    }
    await expect(services.workflow.exportConfidenceSeries(out.generatedSeriesUid!, sc.folder)).rejects.toThrow(/already exists/);
  });

  it('a CT→MRI run with the cycle check records the round trip difference per slice, and refuses a task with no reverse', async () => {
    await job(services, 'dicom:import', { paths: [CT_SERIES] });
    const studies = await call<Array<{ series: Array<{ seriesUid: string; modality: string; imageCount: number }> }>>(services, 'dicom:list-studies', {});
    const ct = studies.flatMap((s) => s.series).find((s) => s.modality === 'CT' && s.imageCount > 0)!;
    const out = await job<GenerateOutcome>(services, 'workflow:generate', { seriesUid: ct.seriesUid, task: 'ct2mri', from: 4, to: 4, cycle: true });
    // HU needs a pack whose mri2ct names its CT output range (the nano pack's does: the CLI test); the tiny one has none
    const unit = readManifestUnit(pack.dir);
    expect(out.cycle).toMatchObject({ reverseTask: 'mri2ct', unit, slices: 1 });
    expect(out.cycle!.meanAbsDifference).toBeGreaterThan(0);
    const run = (await services.history.getCase(out.caseId)).runs.find((r) => r.runId === out.runId)!;
    const diff = run.outputs.find((o) => o.label === 'Cycle difference')!;
    expect(diff.artifacts.map((a) => a.name)).toEqual(['0001.cycle-difference.png']);
    expect(diff.text).toBe(`slice 1: ${out.cycle!.meanAbsDifference.toFixed(3)} ${unit}`);
    // the window reads the same map back over IPC: the recorded PNG, at the generated slice's size, with its figure
    const shown = await call<{ png: Uint8Array; figure: string }>(services, 'workflow:cycle-difference-map', { generatedSeriesUid: out.generatedSeriesUid, sliceIndex: 0 });
    const png = PNG.sync.read(Buffer.from(shown.png));
    const generated = await call<{ rows: number; columns: number }>(services, 'dicom:get-series', { seriesUid: out.generatedSeriesUid });
    expect([png.height, png.width]).toEqual([generated.rows, generated.columns]);
    expect(shown.figure).toBe(diff.text);
    await expect(call(services, 'workflow:cycle-difference-map', { generatedSeriesUid: out.generatedSeriesUid, sliceIndex: 1 })).rejects.toThrow(/No cycle check is recorded for slice 2/);
    await expect(call(services, 'workflow:generate', { seriesUid: ct.seriesUid, task: 'sr', cycle: true })).rejects.toThrow(/cycle check is for CT→MRI and MRI→CT/);
  });
});
