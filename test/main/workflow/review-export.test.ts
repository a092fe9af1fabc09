import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import type { CallContext } from '../../../src-main/ipc/registry';
import { loadMachinePolicy } from '../../../src-main/policy/machine-policy';
import { createServices, type Services } from '../../../src-main/services';
import { runQuestionText } from '../../../src-shared/task-facts';
import { reviewCountsText } from '../../../src-shared/contracts/history';
import { ensureGeneratedSeries } from '../dicom/fixtures';
import { cachedTinyPack, type BuiltPack } from '../model/pack-fixture';
import { readDicom } from '../../support/dicom-read';

const REPO = path.resolve(import.meta.dirname, '../../..');
const MR_SERIES = path.join(REPO, 'test/fixtures/generated/mr_axial');
const CT_SERIES = path.join(REPO, 'test/fixtures/generated/ct_series');

const ctx: CallContext = {
  sink: { id: 'review-export-test', send: () => {}, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

async function call<T>(services: Services, channel: string, payload: unknown): Promise<T> {
  const r = await services.registry.dispatch(channel, payload, ctx);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value as T;
}

async function runJob(services: Services, channel: string, payload: unknown): Promise<JobFinal> {
  const { jobId } = await call<{ jobId: string }>(services, channel, payload);
  return services.jobs.wait(jobId);
}

interface Generated {
  runId: string;
  caseId: string;
  generatedSeriesUid: string;
}

describe('modality guard, series numbering and review that travels (tiny random pack, real CT and MR series, a policy forbidding rejected exports)', () => {
  let pack: BuiltPack;
  let services: Services;
  let ctUid: string;
  let mrUid: string;

  beforeAll(async () => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    const resources = mkdtempSync(path.join(os.tmpdir(), 'hgpt-rx-res-'));
    mkdirSync(path.join(resources, 'packs'));
    cpSync(pack.dir, path.join(resources, 'packs', 'tiny'), { recursive: true });
    const policyDir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-rx-policy-'));
    const policyFile = path.join(policyDir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ disableRejectedExport: true }));
    chmodSync(policyFile, 0o644);
    const policy = loadMachinePolicy({ path: policyFile });
    expect(policy.locked, policy.messages.join(' ')).toBe(false);
    services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-rx-data-')), resourcesDir: resources, policy });
    expect((await runJob(services, 'dicom:import', { paths: [MR_SERIES, CT_SERIES] })).status).toBe('done');
    const series = (await call<Array<{ series: Array<{ seriesUid: string; modality: string; imageCount: number }> }>>(services, 'dicom:list-studies', {})).flatMap((s) => s.series);
    ctUid = series.find((s) => s.modality === 'CT' && s.imageCount > 0)!.seriesUid;
    mrUid = series.find((s) => s.modality === 'MR' && s.imageCount >= 20)!.seriesUid;
  }, 300_000);

  afterAll(async () => {
    await services?.close();
    pack?.cleanup();
  });

  async function generate(payload: Record<string, unknown>): Promise<Generated> {
    const final = await runJob(services, 'workflow:generate', payload);
    expect(final.status, JSON.stringify(final)).toBe('done');
    return (final as { result: Generated }).result;
  }

  it('refuses MRI → CT on a CT series and CT → MRI on an MR series, in words; an explicit override runs and is recorded', async () => {
    const onCt = await runJob(services, 'workflow:generate', { seriesUid: ctUid, task: 'mri2ct', from: 0, to: 0 });
    expect(onCt).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_MODALITY_MISMATCH', message: expect.stringMatching(/MRI → CT synthesis reads MR images, but this series is CT/) } });
    const onMr = await runJob(services, 'workflow:generate', { seriesUid: mrUid, task: 'ct2mri', from: 0, to: 0 });
    expect(onMr).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_MODALITY_MISMATCH', message: expect.stringMatching(/reads CT images, but this series is MR/) } });
    // Nothing of a refused run reaches the history: no run was recorded for it.
    const overridden = await generate({ seriesUid: ctUid, task: 'mri2ct', from: 0, to: 0, allowModalityMismatch: true });
    const run = (await services.history.getCase(overridden.caseId)).runs.find((r) => r.runId === overridden.runId)!;
    expect(run.params.modalityOverride).toEqual({ seriesModality: 'CT', taskReads: 'MR', by: services.history.actor });
    expect((await services.history.getCase(overridden.caseId)).runs.filter((r) => r.task === 'mri2ct')).toHaveLength(1);
    // A conversion on its own modality needs no override and records none.
    const plain = await generate({ seriesUid: ctUid, task: 'ct2mri', from: 0, to: 0 });
    const plainRun = (await services.history.getCase(plain.caseId)).runs.find((r) => r.runId === plain.runId)!;
    expect(plainRun.params.modalityOverride).toBeUndefined();
  });

  it('numbers each generated series of a study on its own and describes it with task, run and review state', async () => {
    const a = await generate({ seriesUid: mrUid, task: 'sr', from: 10, to: 10 });
    const b = await generate({ seriesUid: mrUid, task: 'sr', from: 10, to: 10 });
    const detail = (uid: string) => call<{ seriesNumber: number | null; seriesDescription: string }>(services, 'dicom:get-series', { seriesUid: uid });
    const [da, db] = [await detail(a.generatedSeriesUid), await detail(b.generatedSeriesUid)];
    expect(da.seriesNumber).toBeGreaterThanOrEqual(9001);
    expect(db.seriesNumber).toBe(da.seriesNumber! + 1);
    expect(da.seriesDescription).toBe(`AI SR x4 ${a.runId.slice(4, 12)} UNREVIEWED NOT FOR CLINICAL USE`);
    expect(db.seriesDescription).not.toBe(da.seriesDescription);
    // The CT study's series were numbered on their own (the two CT runs above: 9001 and 9002).
    const ctStudy = (await call<Array<{ series: Array<{ seriesUid: string; seriesNumber: number | null }> }>>(services, 'dicom:list-studies', {})).find((s) => s.series.some((x) => x.seriesUid === ctUid))!;
    expect(ctStudy.series.map((s) => s.seriesNumber).filter((n) => n !== null && n > 9000).sort()).toEqual([9001, 9002]);
  });

  it('an unreviewed run exports only when confirmed; a rejected one not at all under this policy; an accepted one carries its state', async () => {
    const run = await generate({ seriesUid: mrUid, task: 'recon', from: 5, to: 6 });
    const exportTo = (name: string, confirm: boolean) => services.workflow.exportSeries(run.generatedSeriesUid, path.join(services.exports.folder, name), { confirmReview: confirm });

    await expect(exportTo('unconfirmed', false)).rejects.toMatchObject({ code: 'WORKFLOW_REVIEW_NOT_ACCEPTED', message: expect.stringMatching(/has not been reviewed.*--confirm-unreviewed/) });
    expect(existsSync(path.join(services.exports.folder, 'unconfirmed'))).toBe(false);
    const unreviewed = await exportTo('unreviewed', true);
    expect(unreviewed).toMatchObject({ files: 2, reviewState: 'unreviewed' });
    expect(readDicom(path.join(unreviewed.folder, '0001.dcm')).ImageComments).toMatch(/review: unreviewed/);

    await call(services, 'history:record-review', { runId: run.runId, decision: 'rejected', comment: 'artefacts' });
    // The study list says it too: the generated series' own files took the new state.
    const listed = await call<{ seriesDescription: string }>(services, 'dicom:get-series', { seriesUid: run.generatedSeriesUid });
    expect(listed.seriesDescription).toMatch(new RegExp(`^AI recon ${run.runId.slice(4, 12)} REJECTED`));
    const refused = await services.registry.dispatch('workflow:export-series', { generatedSeriesUid: run.generatedSeriesUid, confirmReview: true }, ctx);
    expect(refused).toMatchObject({ ok: false, error: { code: 'DISABLED_BY_POLICY', message: expect.stringMatching(/forbids exporting rejected runs/) } });

    await call(services, 'history:record-review', { runId: run.runId, decision: 'accepted' });
    const accepted = await exportTo('accepted', false);
    expect(accepted.reviewState).toBe('accepted');
    const ds = readDicom(path.join(accepted.folder, '0002.dcm'));
    expect(ds.SeriesDescription).toMatch(new RegExp(`^AI recon ${run.runId.slice(4, 12)} ACCEPTED`));
    expect(String(ds.DerivationDescription)).toMatch(new RegExp(`review: accepted by ${services.history.actor} on \\d{4}-\\d{2}-\\d{2}$`));
    expect(String(ds.ImageComments)).toMatch(/AI-generated by HealthGPT.*review: accepted/);
  });

  it('history: a case summarises its runs by their own decisions, and a generation run shows its task, not the prompt template', async () => {
    const a = await generate({ seriesUid: mrUid, task: 'sr', from: 3, to: 3 });
    await call(services, 'history:record-review', { runId: a.runId, decision: 'rejected' });
    const detail = await services.history.getCase(a.caseId);
    const counts = detail.summary.reviewCounts;
    // MR case: sr, sr (unreviewed), recon (rejected then accepted: accepted), sr (rejected).
    expect(counts).toEqual({ unreviewed: 2, accepted: 1, rejected: 1, edited: 0 });
    expect(reviewCountsText(counts)).toBe('1 rejected, 1 accepted, 2 unreviewed');
    expect(detail.summary.reviewState).toBe('rejected');
    const listed = await call<{ cases: Array<{ caseId: string; reviewCounts: unknown }> }>(services, 'history:list-cases', {});
    expect(listed.cases.find((c) => c.caseId === a.caseId)?.reviewCounts).toEqual(counts);
    const run = detail.runs.find((r) => r.runId === a.runId)!;
    expect(run.prompt).toMatch(/<image>/); // the exact prompt stays recorded…
    expect(runQuestionText(run)).toEqual({ label: 'Task', text: '4× super-resolution' }); // …and a person reads the task
  });
});
