/**
 * PACS over DIMSE against a real Orthanc on 127.0.0.1 (its DICOM port on, our AE title registered as a
 * modality so C-MOVE reaches our Storage SCP): C-ECHO, C-FIND at study and series level, retrieve by
 * C-MOVE and by C-GET into the local store (resumable), C-STORE of a generated series read back from
 * Orthanc, and the clear failures: unknown AE title, nobody listening, a cancelled retrieve.
 */
import { readFileSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacsFindRequestSchema, type PacsFindRequest, type PacsNodeInput, type RetrieveReport } from '../../../src-shared/contracts/pacs';
import type { CallContext } from '../../../src-main/ipc/registry';
import { checkInstance, MARKER_FILE } from '../../../src-main/pacs/local-store';
import { datasetOf } from '../../../src-main/pacs/part10';
import { freePort, OrthancServer } from '../../support/orthanc';
import { dcmFiles, makeHarness, makeHistoryHarness, makePhantomStudy, PHANTOM_STUDY, PYDICOM_FILES, type PacsHarness } from './pacs-fixtures';

const ctx: CallContext = { sink: { id: 'test', send: () => {}, isAlive: () => true }, sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true } };

let orthanc: OrthancServer;
let harness: PacsHarness;
let fixture: ReturnType<typeof makePhantomStudy>;
let originalSeries: string;
let storePort: number;

/** The data set bytes of a Part 10 file (what DIMSE carries): equal data sets mean the same object. */
function datasetBytes(file: string | Buffer): Buffer {
  const found = datasetOf(typeof file === 'string' ? readFileSync(file) : file);
  if (!found) throw new Error('not a Part 10 file');
  return Buffer.from(found.dataset);
}

const sortedDatasets = (files: string[]) => files.map((f) => datasetBytes(f).toString('base64')).sort();

function dimseNode(name: string, extra: Partial<Extract<PacsNodeInput, { protocol: 'dimse' }>> = {}): PacsNodeInput {
  return { name, protocol: 'dimse', host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'ORTHANC', callingAet: 'HEALTHGPT', storePort, timeoutMs: 10_000, ...extra };
}

const find = (q: Omit<PacsFindRequest, 'node'>, node = 'orthanc') => harness.pacs.handlers.find(pacsFindRequestSchema.parse({ node, ...q }), ctx);

async function retrieve(h: PacsHarness, node: string, seriesUid: string): Promise<RetrieveReport> {
  const started = await h.pacs.handlers.retrieve({ node, studyUid: PHANTOM_STUDY, seriesUid }, ctx);
  const final = await h.jobs.wait(started.jobId);
  if (final.status !== 'done') throw new Error(`retrieve ended ${final.status}: ${JSON.stringify(final)}`);
  return final.result as RetrieveReport;
}

beforeAll(async () => {
  fixture = makePhantomStudy();
  storePort = await freePort();
  orthanc = await OrthancServer.start({ dicom: true, modalities: { healthgpt: ['HEALTHGPT', '127.0.0.1', storePort] } });
  await orthanc.upload([...fixture.original, path.join(PYDICOM_FILES, 'CT_small.dcm'), path.join(PYDICOM_FILES, 'MR_small.dcm')]);
  const checked = checkInstance(readFileSync(fixture.original[0]!));
  if ('refused' in checked) throw new Error(checked.refused);
  originalSeries = checked.seriesUid;
  harness = makeHarness([dimseNode('orthanc'), dimseNode('orthanc-get', { retrieve: 'get' })]);
});

afterAll(async () => {
  await harness?.close();
  await orthanc?.stop();
  for (const d of [orthanc?.dir, fixture?.dir, harness?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('PACS over DIMSE (real Orthanc on loopback)', () => {
  it('C-ECHO answers; the node list names it as DIMSE with its AE title, host and port', async () => {
    expect(await harness.pacs.handlers.echo({ node: 'orthanc' }, ctx)).toMatchObject({ ok: true, message: 'C-ECHO answered' });
    const nodes = await harness.pacs.handlers.listNodes({}, ctx);
    expect(nodes.find((n) => n.name === 'orthanc')).toEqual({ name: 'orthanc', kind: 'dimse', url: `ORTHANC@127.0.0.1:${orthanc.dicomPort}`, auth: 'none', source: 'policy' });
  });

  it('C-FIND: studies by patient name, ID, date range, modality and accession; the series of a study', async () => {
    expect((await find({})).map((s) => s.patientId).sort()).toEqual(['1CT1', '4MR1', 'VIEWER-001']);
    expect((await find({ patientName: 'CompressedSamples' })).map((s) => s.patientId).sort()).toEqual(['1CT1', '4MR1']);
    expect((await find({ patientId: '4MR1' })).map((s) => s.patientName)).toEqual(['CompressedSamples^MR1']);
    expect((await find({ dateFrom: '20040101', dateTo: '20040630' })).map((s) => s.patientId)).toEqual(['1CT1']);
    expect((await find({ modality: 'MR' })).map((s) => s.patientId)).toEqual(['4MR1']);
    expect((await find({ limit: 2 })).length).toBe(2);
    const byAccession = await find({ accessionNumber: 'ACC1' });
    expect(byAccession).toEqual([expect.objectContaining({ studyUid: PHANTOM_STUDY, patientName: 'Phantom^Viewer', modalities: ['CT'], instanceCount: fixture.original.length })]);
    const series = await find({ level: 'series', studyUid: PHANTOM_STUDY });
    expect(series).toEqual([expect.objectContaining({ seriesUid: originalSeries, modalities: ['CT'], instanceCount: fixture.original.length })]);
  });

  it('retrieve by C-MOVE to our Storage SCP: every instance stored with its data set unchanged, imported, complete; again fetches nothing', async () => {
    const report = await retrieve(harness, 'orthanc', originalSeries);
    const entry = report.series[0]!;
    expect(entry).toMatchObject({ seriesUid: originalSeries, state: 'complete', expected: 40, stored: 40, fetched: 40, rejected: 0 });
    expect(sortedDatasets(dcmFiles(entry.folder))).toEqual(sortedDatasets(fixture.original));
    expect(JSON.parse(readFileSync(path.join(entry.folder, MARKER_FILE), 'utf8'))).toMatchObject({ state: 'complete', stored: 40 });
    expect(harness.dicom.findSeries(originalSeries)?.imageCount).toBe(40);
    expect((await harness.dicom.getFrame(originalSeries, 0)).columns).toBe(256);
    const again = await retrieve(harness, 'orthanc', originalSeries);
    expect(again.series[0]).toMatchObject({ state: 'complete', fetched: 0 });
  });

  it('two C-MOVE retrieves at once share our Storage SCP, each getting its own series', async () => {
    const h = makeHarness([dimseNode('orthanc')]);
    try {
      const mrStudy = '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457';
      const [phantom, mr] = await Promise.all([
        h.pacs.handlers.retrieve({ node: 'orthanc', studyUid: PHANTOM_STUDY, seriesUid: originalSeries }, ctx),
        h.pacs.handlers.retrieve({ node: 'orthanc', studyUid: mrStudy }, ctx),
      ]);
      const [a, b] = await Promise.all([h.jobs.wait(phantom.jobId), h.jobs.wait(mr.jobId)]);
      expect((a as { result: RetrieveReport }).result.series).toEqual([expect.objectContaining({ seriesUid: originalSeries, state: 'complete', stored: 40, rejected: 0 })]);
      expect((b as { result: RetrieveReport }).result.series).toEqual([expect.objectContaining({ state: 'complete', stored: 1, rejected: 0 })]);
      expect(sortedDatasets(dcmFiles((a as { result: RetrieveReport }).result.series[0]!.folder))).toEqual(sortedDatasets(fixture.original));
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('retrieve by C-GET; a resume after instances went missing fetches only those', async () => {
    const h = makeHarness([dimseNode('orthanc-get', { retrieve: 'get' })]);
    try {
      const first = await retrieve(h, 'orthanc-get', originalSeries);
      const entry = first.series[0]!;
      expect(entry).toMatchObject({ state: 'complete', stored: 40, fetched: 40 });
      expect(sortedDatasets(dcmFiles(entry.folder))).toEqual(sortedDatasets(fixture.original));
      // As if a retrieve had been cut off: three instances gone, the series marked partial.
      for (const f of dcmFiles(entry.folder).slice(0, 3)) unlinkSync(f);
      const resumed = await retrieve(h, 'orthanc-get', originalSeries);
      expect(resumed.series[0]).toMatchObject({ state: 'complete', stored: 40, fetched: 3 });
      expect(sortedDatasets(dcmFiles(entry.folder))).toEqual(sortedDatasets(fixture.original));
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('C-STORE of a generated series; Orthanc holds every instance with the same pixel data', async () => {
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
    const pixels = async (id: string) => (await orthanc.rest(`/instances/${id}/frames/0/raw`)) as Buffer;
    const sent = new Map(fixture.generated.map((f) => [(checkInstance(readFileSync(f)) as { sopInstanceUid: string }).sopInstanceUid, f] as const));
    for (const id of ids.slice(0, 5)) {
      const sop = ((await orthanc.rest(`/instances/${id}/simplified-tags`)) as { SOPInstanceUID: string }).SOPInstanceUID;
      const original = readFileSync(sent.get(sop)!);
      const frame = await pixels(id);
      expect(frame.length).toBe(400 * 400 * 2);
      expect(original.subarray(original.length - frame.length).equals(frame)).toBe(true);
    }
  });

  it('a C-MOVE to an AE title Orthanc does not know ends clearly: the series partial, the message naming our AE title, nothing stored', async () => {
    const h = makeHarness([dimseNode('stranger', { callingAet: 'STRANGER' })]);
    try {
      const started = await h.pacs.handlers.retrieve({ node: 'stranger', studyUid: PHANTOM_STUDY, seriesUid: originalSeries }, ctx);
      const final = await h.jobs.wait(started.jobId);
      expect(final.status).toBe('done');
      const entry = (final as { result: RetrieveReport }).result.series[0]!;
      expect(entry).toMatchObject({ state: 'partial', stored: 0, message: expect.stringMatching(/"STRANGER"/) });
      expect(dcmFiles(entry.folder)).toEqual([]);
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('each retrieve and send is recorded in the case history: node, protocol, study, instances, bytes, outcome', async () => {
    const h = await makeHistoryHarness([dimseNode('orthanc-get', { retrieve: 'get' }), dimseNode('gone', { port: await freePort(), timeoutMs: 2000 })]);
    try {
      const report = await retrieve(h, 'orthanc-get', originalSeries);
      const failed = await h.jobs.wait((await h.pacs.handlers.retrieve({ node: 'gone', studyUid: PHANTOM_STUDY, seriesUid: originalSeries }, ctx)).jobId);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'PACS_UNREACHABLE' } });
      const sent = await h.pacs.sendFiles(h.pacs.nodes.get('orthanc-get'), [path.join(PYDICOM_FILES, 'MR_small.dcm')]);
      expect(sent.stored).toHaveLength(1);
      const rows = await h.history.listPacsTransfers();
      expect(rows.map((r) => [r.direction, r.node, r.protocol, r.outcome, r.instances])).toEqual([
        ['send', 'orthanc-get', 'dimse', 'complete', 1],
        ['retrieve', 'gone', 'dimse', 'failed', 0],
        ['retrieve', 'orthanc-get', 'dimse', 'complete', 40],
      ]);
      expect(rows[2]).toMatchObject({ studyUid: PHANTOM_STUDY, seriesUids: [originalSeries], bytes: report.bytes, actor: 'pacs-test' });
      expect(rows[1]!.message).toMatch(/cannot be reached/);
      expect(rows[0]).toMatchObject({ studyUid: '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457', bytes: readFileSync(path.join(PYDICOM_FILES, 'MR_small.dcm')).length });
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('nobody listening: PACS_UNREACHABLE, nothing written', async () => {
    const h = makeHarness([dimseNode('gone', { port: await freePort(), timeoutMs: 2000 })]);
    try {
      await expect(h.pacs.handlers.echo({ node: 'gone' }, ctx)).rejects.toMatchObject({ code: 'PACS_UNREACHABLE' });
      await expect(h.pacs.handlers.find({ node: 'gone', level: 'study', limit: 10 }, ctx)).rejects.toMatchObject({ code: 'PACS_UNREACHABLE', message: expect.stringContaining('cannot be reached') });
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });
});
