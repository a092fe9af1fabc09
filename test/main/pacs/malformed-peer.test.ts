/**
 * A DICOMweb peer that misbehaves (a small HTTP server on 127.0.0.1): objects that are not DICOM or belong
 * to another series are refused and never written; answers that are not JSON or not multipart fail with
 * clear codes; the local store keeps only whole, expected instances.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src-main/ipc/registry';
import { checkInstance } from '../../../src-main/pacs/local-store';
import { writeMultipart } from '../../../src-main/pacs/multipart';
import type { RetrieveReport } from '../../../src-shared/contracts/pacs';
import { dcmFiles, makeHarness, makePhantomStudy, PYDICOM_FILES, sha256, type PacsHarness } from './pacs-fixtures';

const ctx: CallContext = { sink: { id: 'test', send: () => {}, isAlive: () => true }, sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true } };
let server: Server;
let harness: PacsHarness;
let fixtureDir = '';
let good: { file: string; study: string; series: string; sop: string };
const MISSING_SOP = '1.2.3.4.5.6.7.8.9';

beforeAll(async () => {
  const fixture = makePhantomStudy();
  fixtureDir = fixture.dir;
  const file = fixture.original[0]!;
  const checked = checkInstance(readFileSync(file));
  if ('refused' in checked) throw new Error(checked.refused);
  good = { file, study: checked.studyUid, series: checked.seriesUid, sop: checked.sopInstanceUid };
  const base = `/dicom-web/studies/${good.study}/series/${good.series}`;
  server = createServer((req, res) => {
    const url = req.url?.replace(/^\/stall/, '');
    if (req.url === `/stall${base}`) {
      // The good instance, then nothing more: the connection stays open and silent.
      const { body, contentType } = writeMultipart([readFileSync(file)]);
      res.writeHead(200, { 'content-type': contentType });
      res.write(body.subarray(0, body.length - 4)); // all but the closing '--\r\n'
      return;
    }
    if (url === `${base}/instances`) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(JSON.stringify([{ '00080018': { vr: 'UI', Value: [good.sop] } }, { '00080018': { vr: 'UI', Value: [MISSING_SOP] } }]));
    } else if (req.url === base) {
      // Garbage, a DICOM object of another study, then the one good instance.
      const { body, contentType } = writeMultipart([Buffer.from('this is not DICOM at all'), readFileSync(path.join(PYDICOM_FILES, 'CT_small.dcm')), readFileSync(file)]);
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
    } else if (req.url?.startsWith('/broken-json/')) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end('{"not": "closed"');
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>a login page, not DICOM</html>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  harness = makeHarness([
    { name: 'odd', url: `http://127.0.0.1:${port}/dicom-web` },
    { name: 'broken-json', url: `http://127.0.0.1:${port}/broken-json` },
    { name: 'stalls', url: `http://127.0.0.1:${port}/stall/dicom-web`, timeoutMs: 500 },
  ]);
});

afterAll(async () => {
  await harness?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  for (const d of [fixtureDir, harness?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('a misbehaving DICOMweb peer', () => {
  it('objects that are not DICOM or of another series are rejected and never stored; the series stays partial', async () => {
    const started = await harness.pacs.handlers.retrieve({ node: 'odd', studyUid: good.study, seriesUid: good.series }, ctx);
    const final = await harness.jobs.wait(started.jobId);
    expect(final.status).toBe('done');
    const entry = (final as { result: RetrieveReport }).result.series[0]!;
    expect(entry).toMatchObject({ state: 'partial', expected: 2, stored: 1, fetched: 1, rejected: 2 });
    const stored = dcmFiles(entry.folder);
    expect(stored.map((f) => path.basename(f))).toEqual([`${good.sop}.dcm`]);
    expect(sha256(stored[0]!)).toBe(sha256(good.file));
    expect(harness.dicom.findSeries(good.series)?.imageCount).toBe(1);
  });

  it('a peer that goes silent mid-series: the retrieve ends (no hang) with what arrived stored and the series partial', async () => {
    const h = makeHarness([{ name: 'stalls', url: (harness.pacs.nodes.get('stalls') as { url: string }).url, timeoutMs: 500 }]);
    try {
      const started = await h.pacs.handlers.retrieve({ node: 'stalls', studyUid: good.study, seriesUid: good.series }, ctx);
      const final = await h.jobs.wait(started.jobId);
      expect(final.status).toBe('done');
      const entry = (final as { result: RetrieveReport }).result.series[0]!;
      expect(entry).toMatchObject({ state: 'partial', expected: 2, stored: 1, message: expect.stringMatching(/sent nothing for 500 ms/) });
      expect(sha256(dcmFiles(entry.folder)[0]!)).toBe(sha256(good.file));
    } finally {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('a search answered with broken JSON, or a retrieve answered with HTML, fails with PACS_BAD_RESPONSE', async () => {
    await expect(harness.pacs.find(harness.pacs.nodes.get('broken-json'), { node: 'broken-json', level: 'study', limit: 10 })).rejects.toMatchObject({ code: 'PACS_BAD_RESPONSE' });
    const started = await harness.pacs.handlers.retrieve({ node: 'odd', studyUid: '1.2.3', seriesUid: '1.2.3.4' }, ctx);
    expect(await harness.jobs.wait(started.jobId)).toMatchObject({ status: 'failed', error: { code: 'PACS_BAD_RESPONSE' } });
  });
});
