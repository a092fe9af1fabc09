import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { percentile, type BenchRow } from './bench-types';
import { checkInstance } from '../src-main/pacs/local-store';
import type { RetrieveReport } from '../src-shared/contracts/pacs';
import { OrthancServer } from '../test/support/orthanc';
import { makeHarness } from '../test/main/pacs/pacs-fixtures';
import { makeViewerSeries } from '../test/support/viewer-fixtures';

const SLICES = 300;

/** Seconds a command takes (its own process, start-up included, as a user would run it). */
function timed(command: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(command, args, { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

/**
 * PACS retrieve of a 300-slice 512² CT (150 MB) from a local Orthanc (+ DICOMweb) on 127.0.0.1: our
 * WADO-RS retrieve into the local store (each instance fsynced, imported while it runs) against the same
 * transfer by `curl` (the multipart series to /dev/null) and DCMTK's `getscu` (C-GET to files), as
 * ratios; and the time until the first image is decoded while the retrieve is still running.
 */
export async function runPacsBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = makeViewerSeries('bench', SLICES);
  const files = readdirSync(path.join(dir, 'bench')).map((f) => path.join(dir, 'bench', f));
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const first = checkInstance(readFileSync(files[0]!));
  if ('refused' in first) throw new Error(first.refused);
  const orthanc = await OrthancServer.start({ dicom: true });
  const harness = makeHarness([{ name: 'orthanc', url: orthanc.dicomWebUrl }]);
  const getDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-getscu-'));
  try {
    await orthanc.upload(files);
    const seriesUrl = `${orthanc.dicomWebUrl}/studies/${first.studyUid}/series/${first.seriesUid}`;
    const curlArgs = ['-sf', '-o', '/dev/null', '-H', 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*', seriesUrl];
    timed('curl', curlArgs); // warm-up: Orthanc reads its storage from disk once for every peer alike
    const curlS = percentile([timed('curl', curlArgs), timed('curl', curlArgs), timed('curl', curlArgs)], 50);
    const getscuS = timed('getscu', ['-S', '-aet', 'HEALTHGPT', '-aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort), '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${first.studyUid}`, '-k', `SeriesInstanceUID=${first.seriesUid}`, '-od', getDir]);
    const gotByGetscu = readdirSync(getDir).length;

    await harness.dicom.warm(); // as the app does once its window shows
    const t0 = performance.now();
    let firstImageMs = Number.NaN;
    let done = false;
    // Watches the index as the viewer would: the first frame decoded while the retrieve still runs.
    const watcher = (async () => {
      for (let i = 0; i < 100_000 && !done; i += 1) {
        if (harness.dicom.findSeries(first.seriesUid) !== null) {
          await harness.dicom.getFrame(first.seriesUid, 0);
          firstImageMs = performance.now() - t0;
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const started = harness.pacs.startRetrieve(harness.pacs.nodes.get('orthanc'), { studyUid: first.studyUid, seriesUid: first.seriesUid }, { id: 'bench', send: () => {}, isAlive: () => true });
    const final = await harness.jobs.wait(started.jobId);
    const oursS = (performance.now() - t0) / 1000;
    done = true;
    await watcher;
    if (final.status !== 'done') throw new Error(`retrieve ${final.status}`);
    const entry = (final.result as RetrieveReport).series[0]!;
    if (entry.stored !== SLICES) throw new Error(`retrieved ${entry.stored} of ${SLICES}`);
    const mb = bytes / 1e6;
    const note = `${SLICES} x 512² CT, ${mb.toFixed(0)} MB, local Orthanc ${'1.10'} + DICOMweb on 127.0.0.1`;
    rows.push({ benchmark: 'pacs', metric: 'DICOMweb retrieve into the local store (images/s)', value: SLICES / oursS, unit: 'img/s', note: `${note}; streamed WADO-RS, each file fsynced, imported while running` });
    rows.push({ benchmark: 'pacs', metric: 'DICOMweb retrieve into the local store (MB/s)', value: mb / oursS, unit: 'MB/s', note: `${oursS.toFixed(2)} s in all` });
    rows.push({ benchmark: 'pacs', metric: 'curl of the same WADO-RS series (MB/s)', value: mb / curlS, unit: 'MB/s', note: `${curlS.toFixed(2)} s (median of 3 after a warm-up), to /dev/null: no parsing, no storing` });
    rows.push({ benchmark: 'pacs', metric: 'ours / curl time ratio', value: oursS / curlS, unit: 'x', note: '1 = as fast as curl' });
    rows.push({ benchmark: 'pacs', metric: 'DCMTK getscu C-GET of the series (MB/s)', value: mb / getscuS, unit: 'MB/s', note: `${getscuS.toFixed(2)} s, ${gotByGetscu} files written (DIMSE; ours has no DIMSE yet)` });
    rows.push({ benchmark: 'pacs', metric: 'ours (DICOMweb) / getscu (DIMSE) time ratio', value: oursS / getscuS, unit: 'x', note: 'different protocols, same series, same peer' });
    rows.push({ benchmark: 'pacs', metric: 'time to first image during the retrieve', value: firstImageMs, unit: 'ms', note: 'retrieve start → first instance stored, imported and its frame decoded' });
  } finally {
    await harness.close();
    await orthanc.stop();
    rmSync(getDir, { recursive: true, force: true });
    rmSync(orthanc.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    rmSync(harness.dataDir, { recursive: true, force: true });
  }
  return rows;
}
