/**
 * PACS over DICOMweb against a real Orthanc (+ orthanc-dicomweb) on 127.0.0.1: find, retrieve into the
 * local store, send back, wrong credentials, refused nodes. Orthanc requires basic auth throughout.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacsFindRequestSchema, type PacsFindRequest, type RetrieveReport } from '../../../src-shared/contracts/pacs';
import { DomainError } from '../../../src-shared/ipc/envelope';
import type { CallContext } from '../../../src-main/ipc/registry';
import { checkInstance, MARKER_FILE } from '../../../src-main/pacs/local-store';
import { OrthancServer } from '../../support/orthanc';
import { dcmFiles, digests, makeHarness, makePhantomStudy, PHANTOM_STUDY, PYDICOM_FILES, sha256, type PacsHarness } from './pacs-fixtures';

const PASSWORD = 'correct-horse-7';
const ctx: CallContext = { sink: { id: 'test', send: () => {}, isAlive: () => true }, sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true } };

let orthanc: OrthancServer;
let harness: PacsHarness;
let fixture: ReturnType<typeof makePhantomStudy>;
let originalSeries: string;

const find = (q: Omit<PacsFindRequest, 'node'>, node = 'orthanc') => harness.pacs.handlers.find(pacsFindRequestSchema.parse({ node, ...q }), ctx);

async function retrieve(h: PacsHarness, seriesUid: string): Promise<RetrieveReport> {
  const started = await h.pacs.handlers.retrieve({ node: 'orthanc', studyUid: PHANTOM_STUDY, seriesUid }, ctx);
  const final = await h.jobs.wait(started.jobId);
  if (final.status !== 'done') throw new Error(`retrieve ended ${final.status}: ${JSON.stringify(final)}`);
  return final.result as RetrieveReport;
}

async function refusal(call: () => unknown): Promise<DomainError> {
  try {
    await call();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  fixture = makePhantomStudy();
  orthanc = await OrthancServer.start({ users: { radiologist: PASSWORD } });
  await orthanc.upload([...fixture.original, path.join(PYDICOM_FILES, 'CT_small.dcm'), path.join(PYDICOM_FILES, 'MR_small.dcm')]);
  const checked = checkInstance(readFileSync(fixture.original[0]!));
  if ('refused' in checked) throw new Error(checked.refused);
  originalSeries = checked.seriesUid;
  harness = makeHarness(
    [
      { name: 'orthanc', url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'radiologist', password: PASSWORD } },
      { name: 'wrong-password', url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'radiologist', password: 'not-the-password' } },
      { name: 'blocked', url: orthanc.dicomWebUrl },
    ],
    { forbidden: ['blocked'] },
  );
});

afterAll(async () => {
  await harness?.close();
  await orthanc?.stop();
  for (const d of [orthanc?.dir, fixture?.dir, harness?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('PACS over DICOMweb (real Orthanc on loopback)', () => {
  it('echo answers; the node list a window gets names the auth kind and holds no credentials', async () => {
    const echo = await harness.pacs.handlers.echo({ node: 'orthanc' }, ctx);
    expect(echo.ok).toBe(true);
    const nodes = await harness.pacs.handlers.listNodes({}, ctx);
    expect(nodes.map((n) => n.name).sort()).toEqual(['orthanc', 'wrong-password']); // 'blocked' is forbidden
    expect(nodes.find((n) => n.name === 'orthanc')).toMatchObject({ auth: 'basic', source: 'policy' });
    expect(JSON.stringify(nodes)).not.toContain(PASSWORD);
    expect(JSON.stringify(nodes)).not.toContain('not-the-password');
  });

  it('find: studies by patient name, patient ID, date range, modality and accession; the series of a study', async () => {
    const all = await find({});
    expect(all.map((s) => s.patientId).sort()).toEqual(['1CT1', '4MR1', 'VIEWER-001']);
    expect((await find({ patientName: 'CompressedSamples' })).map((s) => s.patientId).sort()).toEqual(['1CT1', '4MR1']);
    expect((await find({ patientId: '4MR1' })).map((s) => s.patientName)).toEqual(['CompressedSamples^MR1']);
    expect((await find({ dateFrom: '20040101', dateTo: '20040630' })).map((s) => s.patientId)).toEqual(['1CT1']);
    expect((await find({ dateFrom: '20250101' })).map((s) => s.patientId)).toEqual(['VIEWER-001']);
    expect((await find({ modality: 'MR' })).map((s) => s.patientId)).toEqual(['4MR1']);
    const byAccession = await find({ accessionNumber: 'ACC1' });
    expect(byAccession).toHaveLength(1);
    expect(byAccession[0]).toMatchObject({ studyUid: PHANTOM_STUDY, patientName: 'Phantom^Viewer', instanceCount: fixture.original.length });
    const series = await find({ level: 'series', studyUid: PHANTOM_STUDY });
    expect(series).toEqual([expect.objectContaining({ seriesUid: originalSeries, modalities: ['CT'], instanceCount: fixture.original.length })]);
  });

  it('retrieve a series over WADO-RS: every instance stored byte-identical, imported, marked complete; a second retrieve fetches nothing', async () => {
    const firstImage: { images: number; width: number }[] = [];
    harness.pacs.hooks.afterStored = async (count) => {
      if (count !== 1) return;
      // The retrieve waits here, after its first instance: the viewer must already be able to open it.
      for (let i = 0; i < 200 && harness.dicom.findSeries(originalSeries) === null; i += 1) await new Promise((r) => setTimeout(r, 50));
      const detail = harness.dicom.findSeries(originalSeries);
      const frame = await harness.dicom.getFrame(originalSeries, 0);
      firstImage.push({ images: detail?.imageCount ?? 0, width: frame.columns });
    };
    const report = await retrieve(harness, originalSeries).finally(() => (harness.pacs.hooks = {}));
    expect(firstImage).toEqual([{ images: 1, width: 256 }]);
    expect(report.series).toHaveLength(1);
    const entry = report.series[0]!;
    expect(entry).toMatchObject({ seriesUid: originalSeries, state: 'complete', expected: 40, stored: 40, fetched: 40, rejected: 0 });
    expect(digests(dcmFiles(entry.folder))).toEqual(digests(fixture.original));
    expect(JSON.parse(readFileSync(path.join(entry.folder, MARKER_FILE), 'utf8'))).toMatchObject({ state: 'complete', expected: 40, stored: 40 });
    const detail = harness.dicom.findSeries(originalSeries);
    expect(detail?.imageCount).toBe(40);
    expect(detail?.sortedBy).toBe('image-position');
    const again = await retrieve(harness, originalSeries);
    expect(again.series[0]).toMatchObject({ state: 'complete', stored: 40, fetched: 0 });
    expect(again.bytes).toBe(0);
  });

  it('send a generated series over STOW-RS, then read it back from Orthanc byte-identical', async () => {
    const started = harness.dicom.import(fixture.generated, ctx.sink);
    expect((await harness.jobs.wait(started.jobId)).status).toBe('done');
    const checked = checkInstance(readFileSync(fixture.generated[0]!));
    if ('refused' in checked) throw new Error(checked.refused);
    expect(await orthanc.instancesOfSeries(checked.seriesUid)).toEqual([]);
    const report = await harness.pacs.handlers.send({ node: 'orthanc', seriesUid: checked.seriesUid }, ctx);
    expect(report).toMatchObject({ sent: 48, failed: [] });
    expect(report.stored).toHaveLength(48);
    const ids = await orthanc.instancesOfSeries(checked.seriesUid);
    expect(ids).toHaveLength(48);
    const readBack: string[] = [];
    for (const id of ids) {
      const bytes = (await orthanc.rest(`/instances/${id}/file`)) as Buffer;
      readBack.push(createHash('sha256').update(bytes).digest('hex'));
    }
    expect(readBack.sort()).toEqual(digests(fixture.generated));
    // And Orthanc's DICOMweb now lists it in the study.
    expect((await find({ level: 'series', studyUid: PHANTOM_STUDY })).map((s) => s.seriesUid).sort()).toEqual([originalSeries, checked.seriesUid].sort());
  });

  it('wrong credentials are refused with PACS_AUTH_FAILED; the password is in no message', async () => {
    const e = await refusal(() => find({}, 'wrong-password'));
    expect(e.code).toBe('PACS_AUTH_FAILED');
    expect(e.message).toContain('HTTP 401');
    expect(e.message).not.toContain('not-the-password');
    const started = await harness.pacs.handlers.retrieve({ node: 'wrong-password', studyUid: PHANTOM_STUDY, seriesUid: originalSeries }, ctx);
    const final = await harness.jobs.wait(started.jobId);
    expect(final).toMatchObject({ status: 'failed', error: { code: 'PACS_AUTH_FAILED' } });
    expect(JSON.stringify(final)).not.toContain('not-the-password');
  });

  it('cancel mid-retrieve ends the job cancelled with the partial series marked; the next retrieve completes it', async () => {
    const h = makeHarness([{ name: 'orthanc', url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'radiologist', password: PASSWORD } }]);
    try {
      let jobId = '';
      h.pacs.hooks.afterStored = (count) => {
        if (count === 3) h.jobs.cancel(jobId);
      };
      jobId = (await h.pacs.handlers.retrieve({ node: 'orthanc', studyUid: PHANTOM_STUDY, seriesUid: originalSeries }, ctx)).jobId;
      const final = await h.jobs.wait(jobId);
      h.pacs.hooks = {};
      expect(final.status).toBe('cancelled');
      const entry = (final as { result: RetrieveReport }).result.series[0]!;
      expect(entry).toMatchObject({ state: 'partial', expected: 40, message: expect.stringMatching(/cancelled/) });
      expect(dcmFiles(entry.folder)).toHaveLength(entry.stored);
      const resumed = await retrieve(h, originalSeries);
      expect(resumed.series[0]).toMatchObject({ state: 'complete', stored: 40, fetched: 40 - entry.stored });
      expect(digests(dcmFiles(entry.folder))).toEqual(digests(fixture.original));
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('an unknown node and a node the policy forbids are refused before any request', async () => {
    expect((await refusal(() => harness.pacs.handlers.echo({ node: 'nowhere' }, ctx))).code).toBe('PACS_UNKNOWN_NODE');
    expect((await refusal(() => harness.pacs.handlers.echo({ node: 'blocked' }, ctx))).code).toBe('PACS_NODE_FORBIDDEN');
  });
});

describe('Orthanc stopped mid-retrieve', () => {
  it('leaves the series marked partial with only whole instances, and a second retrieve fetches only what is missing', async () => {
    const study = makePhantomStudy(60);
    const server = await OrthancServer.start();
    const h = makeHarness([{ name: 'orthanc', url: server.dicomWebUrl }]);
    try {
      await server.upload(study.bench);
      const checked = checkInstance(readFileSync(study.bench[0]!));
      if ('refused' in checked) throw new Error(checked.refused);
      const benchSeries = checked.seriesUid;
      h.pacs.hooks.afterStored = async (count) => {
        if (count === 2) await server.kill(); // the PACS goes away with most of the 31 MB series unsent
      };
      const cut = await retrieve(h, benchSeries);
      h.pacs.hooks = {};
      const entry = cut.series[0]!;
      expect(entry.state).toBe('partial');
      expect(entry.expected).toBe(60);
      expect(entry.stored).toBeGreaterThanOrEqual(2);
      expect(entry.stored).toBeLessThan(60);
      expect(entry.message).toMatch(/stopped after/);
      expect(JSON.parse(readFileSync(path.join(entry.folder, MARKER_FILE), 'utf8'))).toMatchObject({ state: 'partial', stored: entry.stored });
      // Nothing half-written: exactly the stored instances, each identical to a source file.
      const kept = dcmFiles(entry.folder);
      expect(kept).toHaveLength(entry.stored);
      const sources = new Set(study.bench.map(sha256));
      for (const f of kept) expect(sources.has(sha256(f))).toBe(true);
      const before = new Map(kept.map((f) => [f, statSync(f).mtimeMs]));
      // A retrieve while the PACS is down fails clearly and changes nothing.
      const down = await h.pacs.handlers.retrieve({ node: 'orthanc', studyUid: PHANTOM_STUDY, seriesUid: benchSeries }, ctx);
      expect(await h.jobs.wait(down.jobId)).toMatchObject({ status: 'failed', error: { code: 'PACS_UNREACHABLE' } });
      await server.restart();
      const resumed = await retrieve(h, benchSeries);
      expect(resumed.series[0]).toMatchObject({ state: 'complete', expected: 60, stored: 60, fetched: 60 - entry.stored });
      expect(digests(dcmFiles(entry.folder))).toEqual(digests(study.bench));
      for (const [f, mtime] of before) expect(statSync(f).mtimeMs).toBe(mtime); // not fetched again
      expect(h.dicom.findSeries(benchSeries)?.imageCount).toBe(60);
    } finally {
      await h.close();
      await server.stop();
      for (const d of [server.dir, study.dir, h.dataDir]) rmSync(d, { recursive: true, force: true });
    }
  });
});
