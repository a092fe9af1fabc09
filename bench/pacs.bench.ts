import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { percentile, type BenchRow } from './bench-types';
import { checkInstance } from '../src-main/pacs/local-store';
import type { PacsNodeInput, RetrieveReport } from '../src-shared/contracts/pacs';
import { freePort, OrthancServer } from '../test/support/orthanc';
import { makeHarness } from '../test/main/pacs/pacs-fixtures';
import { makeViewerSeries } from '../test/support/viewer-fixtures';

const SLICES = 300;

/** Seconds a command takes (its own process, start-up included, as a user would run it). */
function timed(command: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(command, args, { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

/** One retrieve of the series by our PacsService on a fresh data folder: seconds, and ms to the first image decoded while it runs. */
async function ourRetrieve(node: PacsNodeInput, studyUid: string, seriesUid: string): Promise<{ seconds: number; firstImageMs: number }> {
  const harness = makeHarness([node]);
  try {
    await harness.dicom.warm(); // as the app does once its window shows
    const t0 = performance.now();
    let firstImageMs = Number.NaN;
    let done = false;
    // Watches the index as the viewer would: the first frame decoded while the retrieve still runs.
    const watcher = (async () => {
      for (let i = 0; i < 100_000 && !done; i += 1) {
        if (harness.dicom.findSeries(seriesUid) !== null) {
          await harness.dicom.getFrame(seriesUid, 0);
          firstImageMs = performance.now() - t0;
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const started = harness.pacs.startRetrieve(harness.pacs.nodes.get(node.name), { studyUid, seriesUid }, { id: 'bench', send: () => {}, isAlive: () => true });
    const final = await harness.jobs.wait(started.jobId);
    const seconds = (performance.now() - t0) / 1000;
    done = true;
    await watcher;
    if (final.status !== 'done') throw new Error(`retrieve ${final.status}: ${JSON.stringify(final)}`);
    const entry = (final.result as RetrieveReport).series[0]!;
    if (entry.stored !== SLICES) throw new Error(`${node.name}: retrieved ${entry.stored} of ${SLICES}`);
    return { seconds, firstImageMs };
  } finally {
    await harness.close();
    rmSync(harness.dataDir, { recursive: true, force: true });
  }
}

/**
 * PACS retrieve of a 300-slice 512² CT (150 MB) from a local Orthanc (+ DICOMweb, DICOM port on) on
 * 127.0.0.1, into the local store (each instance fsynced, imported while it runs): ours over WADO-RS, over
 * C-GET and over C-MOVE to our Storage SCP, against the same transfer by `curl` (the multipart series to
 * /dev/null) and DCMTK's `getscu` and `movescu` (to files), as ratios; and the time until the first image
 * is decoded while a retrieve is still running.
 */
export async function runPacsBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = makeViewerSeries('bench', SLICES);
  const files = readdirSync(path.join(dir, 'bench')).map((f) => path.join(dir, 'bench', f));
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const first = checkInstance(readFileSync(files[0]!));
  if ('refused' in first) throw new Error(first.refused);
  const [ourPort, movescuPort] = [await freePort(), await freePort()];
  const orthanc = await OrthancServer.start({ dicom: true, modalities: { healthgpt: ['HEALTHGPT', '127.0.0.1', ourPort], movescu: ['MOVESCU', '127.0.0.1', movescuPort] } });
  const getDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-getscu-'));
  const moveDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-movescu-'));
  try {
    await orthanc.upload(files);
    const seriesUrl = `${orthanc.dicomWebUrl}/studies/${first.studyUid}/series/${first.seriesUid}`;
    const curlArgs = ['-sf', '-o', '/dev/null', '-H', 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*', seriesUrl];
    timed('curl', curlArgs); // warm-up: Orthanc reads its storage from disk once for every peer alike
    const curlS = percentile([timed('curl', curlArgs), timed('curl', curlArgs), timed('curl', curlArgs)], 50);
    const keys = ['-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${first.studyUid}`, '-k', `SeriesInstanceUID=${first.seriesUid}`];
    const getscuS = timed('getscu', ['-S', '-aet', 'HEALTHGPT', '-aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort), ...keys, '-od', getDir]);
    const gotByGetscu = readdirSync(getDir).length;
    const movescuS = timed('movescu', ['-S', '-aet', 'MOVESCU', '-aec', 'ORTHANC', '-aem', 'MOVESCU', '--port', String(movescuPort), '127.0.0.1', String(orthanc.dicomPort), ...keys, '-od', moveDir]);
    const gotByMovescu = readdirSync(moveDir).length;

    const dimse = { protocol: 'dimse' as const, host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'ORTHANC', callingAet: 'HEALTHGPT', storePort: ourPort };
    const web = await ourRetrieve({ name: 'orthanc', url: orthanc.dicomWebUrl }, first.studyUid, first.seriesUid);
    const get = await ourRetrieve({ name: 'orthanc-get', ...dimse, retrieve: 'get' as const }, first.studyUid, first.seriesUid);
    const move = await ourRetrieve({ name: 'orthanc-move', ...dimse, retrieve: 'move' as const }, first.studyUid, first.seriesUid);
    const mb = bytes / 1e6;
    const note = `${SLICES} x 512² CT, ${mb.toFixed(0)} MB, local Orthanc 1.10 on 127.0.0.1`;
    const ours = (label: string, r: { seconds: number }, how: string) => {
      rows.push({ benchmark: 'pacs', metric: `${label} retrieve into the local store (images/s)`, value: SLICES / r.seconds, unit: 'img/s', note: `${note}; ${how}, each file fsynced, imported while running` });
      rows.push({ benchmark: 'pacs', metric: `${label} retrieve into the local store (MB/s)`, value: mb / r.seconds, unit: 'MB/s', note: `${r.seconds.toFixed(2)} s in all` });
    };
    ours('DICOMweb', web, 'streamed WADO-RS');
    ours('DIMSE C-GET', get, 'dcmjs-dimse, data sets kept raw');
    ours('DIMSE C-MOVE', move, 'dcmjs-dimse to our Storage SCP');
    rows.push({ benchmark: 'pacs', metric: 'curl of the same WADO-RS series (MB/s)', value: mb / curlS, unit: 'MB/s', note: `${curlS.toFixed(2)} s (median of 3 after a warm-up), to /dev/null: no parsing, no storing` });
    rows.push({ benchmark: 'pacs', metric: 'ours (DICOMweb) / curl time ratio', value: web.seconds / curlS, unit: 'x', note: '1 = as fast as curl' });
    rows.push({ benchmark: 'pacs', metric: 'DCMTK getscu C-GET of the series (MB/s)', value: mb / getscuS, unit: 'MB/s', note: `${getscuS.toFixed(2)} s, ${gotByGetscu} files written (no fsync)` });
    rows.push({ benchmark: 'pacs', metric: 'DCMTK movescu C-MOVE of the series (MB/s)', value: mb / movescuS, unit: 'MB/s', note: `${movescuS.toFixed(2)} s, ${gotByMovescu} files written by its own SCP (no fsync)` });
    rows.push({ benchmark: 'pacs', metric: 'ours (C-GET) / getscu time ratio', value: get.seconds / getscuS, unit: 'x', note: 'same protocol, same series, same peer; 1 = as fast as DCMTK' });
    rows.push({ benchmark: 'pacs', metric: 'ours (C-MOVE) / movescu time ratio', value: move.seconds / movescuS, unit: 'x', note: 'same protocol, same series, same peer; 1 = as fast as DCMTK' });
    rows.push({ benchmark: 'pacs', metric: 'time to first image during the retrieve (DICOMweb)', value: web.firstImageMs, unit: 'ms', note: 'retrieve start → first instance stored, imported and its frame decoded' });
    rows.push({ benchmark: 'pacs', metric: 'time to first image during the retrieve (C-MOVE)', value: move.firstImageMs, unit: 'ms', note: 'includes the image-level C-FIND listing the series and the SCP start' });
  } finally {
    await orthanc.stop();
    for (const d of [getDir, moveDir, orthanc.dir, dir]) rmSync(d, { recursive: true, force: true });
  }
  return rows;
}
