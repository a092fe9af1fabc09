/**
 * Big studies (issue #23), main side: a 2,000-slice 512x512 thin-section CT and a 1,000-frame enhanced
 * CT written from Colin27 by write_big_study.py into a temporary folder (removed after). Import speed
 * (headers only, and the previous full-read path on the same files for comparison), import start →
 * first and middle slice, frame fetch while scrolling end to end twice with the main process's RSS, the
 * enhanced object read frame by frame, and compressed decode throughput against DCMTK's native decoders
 * on the same files (as a ratio), with one and with several decode workers.
 * HEALTHGPT_BENCH_BIG_SLICES / HEALTHGPT_BENCH_BIG_FRAMES shrink the study for a quick run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadCodecs } from '../src-main/dicom/codecs';
import { createDicomService, type DicomService } from '../src-main/dicom/dicom-service';
import { scanFile } from '../src-main/dicom/dicom-worker';
import { parseDicomBytes } from '../src-main/dicom/parse';
import { decodeFrame } from '../src-main/dicom/pixels';
import { readDicomFile } from '../src-main/dicom/read-file';
import { JobManager } from '../src-main/jobs/job-manager';
import { makeBigStudy, type BigStudy } from '../test/support/big-study-fixtures';
import { percentile, type BenchRow } from './bench-types';

const SLICES = Number(process.env.HEALTHGPT_BENCH_BIG_SLICES ?? 2000);
const FRAMES = Number(process.env.HEALTHGPT_BENCH_BIG_FRAMES ?? 1000);
const sink = { id: 'bench-big', send: () => {}, isAlive: () => true };
const B = 'big study';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

/** Files per second scanning `files` in this thread, the way `scan` does it. */
function scanRate(files: string[], scan: (file: string) => void): number {
  const t = performance.now();
  for (const f of files) scan(f);
  return files.length / ((performance.now() - t) / 1000);
}

async function importRows(study: BigStudy, rows: BenchRow[]): Promise<void> {
  const files = readdirSync(study.seriesDir).map((f) => path.join(study.seriesDir, f));
  const sample = files.slice(0, 300);
  scanRate(sample.slice(0, 20), (f) => scanFile(f)); // page cache and JIT warm
  const headerOnly = scanRate(sample, (f) => scanFile(f));
  const fullRead = scanRate(sample, (f) => {
    const parsed = parseDicomBytes(readDicomFile(f));
    decodeFrame(parsed, parsed.meta.frames - 1);
  });
  rows.push({ benchmark: B, metric: 'scan per file, headers only (import path now)', value: headerOnly, unit: 'files/s', note: `${sample.length} files of 512x512 int16, one thread` });
  rows.push({ benchmark: B, metric: 'scan per file, whole file read + last frame decoded (previous path)', value: fullRead, unit: 'files/s', note: 'same files, same thread' });

  for (const warm of [false, true]) {
    const jobs = new JobManager();
    const service = createDicomService({ jobs, dataDir: null });
    if (warm) await service.warm();
    const uid = study.series.seriesUid;
    const middle = Math.floor(SLICES / 2);
    const t0 = performance.now();
    const started = service.import([study.seriesDir], sink);
    const middleFile = path.join(study.seriesDir, study.series.fileOfSlice[middle]!);
    let first = NaN;
    let mid = NaN;
    // Polled every 10 ms, as a window refreshing its series would; each look re-sorts the growing series.
    while (Number.isNaN(mid)) {
      if (Number.isNaN(first) && service.imageFile(uid, 0) !== null) {
        await service.getFrame(uid, 0);
        first = performance.now() - t0;
      }
      // The middle slice in its final place (its file at the middle index), decoded.
      if (service.imageFile(uid, middle) === middleFile) {
        await service.getFrame(uid, middle);
        mid = performance.now() - t0;
      }
      await sleep(10);
    }
    const final = await jobs.wait(started.jobId);
    const total = performance.now() - t0;
    const label = warm ? 'warm workers' : 'cold (workers started by the import)';
    rows.push({ benchmark: B, metric: `import ${SLICES} slices, ${label}`, value: SLICES / (total / 1000), unit: 'files/s', note: `${total.toFixed(0)} ms, job ${final.status}; target ≥ 500 files/s` });
    rows.push({ benchmark: B, metric: `import start → first slice pixels, ${label}`, value: first, unit: 'ms', note: 'main side (decode worker, no rendering); target < 300 ms' });
    rows.push({ benchmark: B, metric: `import start → middle slice pixels, ${label}`, value: mid, unit: 'ms', note: 'its final place is known once every header is in' });
    if (warm) await scrollRows(service, uid, rows);
    await service.close();
    await jobs.shutdown();
  }
}

async function scrollRows(service: DicomService, uid: string, rows: BenchRow[]): Promise<void> {
  global.gc?.();
  const before = rssMiB();
  let peak = before;
  const times: number[] = [];
  for (let pass = 0; pass < 2; pass += 1) {
    for (let i = 0; i < SLICES; i += 1) {
      const t = performance.now();
      await service.getFrame(uid, i);
      times.push(performance.now() - t);
      if (i % 100 === 0) peak = Math.max(peak, rssMiB());
    }
  }
  rows.push({ benchmark: B, metric: 'getFrame p50 scrolling end to end twice (512x512 int16)', value: percentile(times, 50), unit: 'ms', note: `${times.length} fetches, main side (read + decode in worker + transfer)` });
  rows.push({ benchmark: B, metric: 'getFrame p95 scrolling end to end twice', value: percentile(times, 95), unit: 'ms' });
  rows.push({ benchmark: B, metric: 'main process RSS, peak while scrolling twice', value: peak, unit: 'MiB', note: `before scrolling ${before.toFixed(0)} MiB (bench process: main services + workers); target < 1.5 GB` });
}

async function enhancedRows(study: BigStudy, rows: BenchRow[]): Promise<void> {
  const exp = study.enhanced!;
  const jobs = new JobManager();
  const service = createDicomService({ jobs, dataDir: null });
  await service.warm();
  const t0 = performance.now();
  const started = service.import([study.enhancedFile], sink);
  await jobs.wait(started.jobId);
  const imported = performance.now() - t0;
  await service.getFrame(exp.seriesUid, Math.floor(FRAMES / 2));
  const firstFrame = performance.now() - t0;
  const times: number[] = [];
  for (let j = 0; j < FRAMES; j += 1) {
    const t = performance.now();
    await service.getFrame(exp.seriesUid, j);
    times.push(performance.now() - t);
  }
  const mb = (FRAMES * 512 * 512 * 2) / 1e6;
  rows.push({ benchmark: B, metric: `enhanced CT (${FRAMES} frames, ${mb.toFixed(0)} MB): import`, value: imported, unit: 'ms', note: 'one file: header with per-frame functional groups only' });
  rows.push({ benchmark: B, metric: 'enhanced CT: import start → middle frame pixels', value: firstFrame, unit: 'ms', note: 'frames read from disk one at a time, never the whole file' });
  rows.push({ benchmark: B, metric: 'enhanced CT: getFrame p95 in slice order', value: percentile(times, 95), unit: 'ms', note: `p50 ${percentile(times, 50).toFixed(1)} ms; slice order is not stored order` });
  await service.close();
  await jobs.shutdown();
}

/** Wall time of one DCMTK decompression of the whole file (process start included, amortised over frames). */
function dcmtkSeconds(tool: string, input: string, output: string): number {
  const t = performance.now();
  execFileSync(tool, [input, output], { stdio: 'ignore' });
  return (performance.now() - t) / 1000;
}

async function compressedRows(rows: BenchRow[]): Promise<void> {
  const FR = 64;
  const small = makeBigStudy(512, FR, FR);
  const dir = path.join(small.dir, 'compressed');
  mkdirSync(dir);
  const outputBytes = FR * 512 * 512 * 2;
  const cases: Array<{ name: string; encode: string[]; decoder: string }> = [
    { name: 'JPEG-LS lossless', encode: ['dcmcjpls'], decoder: 'dcmdjpls' },
    { name: 'JPEG baseline (8-bit, DCMTK windowed)', encode: ['dcmcjpeg', '+eb'], decoder: 'dcmdjpeg' },
    { name: 'JPEG lossless SV1', encode: ['dcmcjpeg', '+e1'], decoder: 'dcmdjpeg' },
  ];
  try {
    await loadCodecs();
    for (const c of cases) {
      const have = (tool: string) => existsSync(`/usr/bin/${tool}`);
      if (!have(c.encode[0]!) || !have(c.decoder)) continue;
      const file = path.join(dir, `${c.decoder}-${c.encode.join('')}.dcm`);
      execFileSync(c.encode[0]!, [...c.encode.slice(1), small.enhancedFile, file], { stdio: 'ignore' });
      const bytes = readFileSync(file);
      const t = performance.now();
      const parsed = parseDicomBytes(bytes);
      let decoded = 0;
      for (let f = 0; f < FR; f += 1) decoded += decodeFrame(parsed, f).pixels.byteLength;
      const oursMbS = decoded / 1e6 / ((performance.now() - t) / 1000);
      const native = Math.min(...[0, 1].map(() => dcmtkSeconds(c.decoder, file, path.join(dir, 'native-out.dcm'))));
      const nativeMbS = outputBytes / 1e6 / native;
      rows.push({ benchmark: B, metric: `decode ${c.name}, ours (one thread)`, value: oursMbS, unit: 'MB/s', note: `${FR} frames 512x512 from Colin27, ${(bytes.length / 1e6).toFixed(1)} MB file` });
      rows.push({ benchmark: B, metric: `decode ${c.name}, DCMTK ${c.decoder}`, value: nativeMbS, unit: 'MB/s', note: 'same file, one process (start-up and writing included; best of 2)' });
      rows.push({ benchmark: B, metric: `decode ${c.name}, ours / DCMTK`, value: oursMbS / nativeMbS, unit: 'ratio' });
      for (const workers of [...new Set([1, Math.max(2, availableParallelism())])]) {
        const jobs = new JobManager();
        const service = createDicomService({ jobs, dataDir: null, decodeWorkers: workers });
        const started = service.import([file], sink);
        const final = await jobs.wait(started.jobId);
        if (final.status !== 'done') throw new Error(`import of ${path.basename(file)} ${final.status}`);
        const uid = (final.result as { seriesUids: string[] }).seriesUids[0]!;
        await Promise.all(Array.from({ length: workers }, (_, k) => service.getFrame(uid, k))); // workers up, file cached
        const tw = performance.now();
        await Promise.all(Array.from({ length: FR }, (_, f) => service.getFrame(uid, f)));
        const mbs = outputBytes / 1e6 / ((performance.now() - tw) / 1000);
        rows.push({ benchmark: B, metric: `decode ${c.name}, service with ${workers} decode worker(s)`, value: mbs, unit: 'MB/s', note: `all ${FR} frames asked at once; ${availableParallelism()} cores` });
        await service.close();
        await jobs.shutdown();
      }
    }
    rows.push({ benchmark: B, metric: 'decode JPEG 2000: no native comparison', value: NaN, unit: '-', note: 'no J2K encoder or decoder here (no gdcmconv/opj_*; DCMTK has no J2K): see the dicom bench for ours on pydicom files' });
  } finally {
    rmSync(small.dir, { recursive: true, force: true });
  }
}

export async function runBigStudyBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const t = performance.now();
  const study = makeBigStudy(512, SLICES, FRAMES);
  rows.push({ benchmark: B, metric: `fixtures written (${SLICES} x 512² series + ${FRAMES}-frame enhanced CT)`, value: (performance.now() - t) / 1000, unit: 's', note: `write_big_study.py into ${path.dirname(study.dir)}` });
  try {
    await loadCodecs();
    await importRows(study, rows);
    if (study.enhanced) await enhancedRows(study, rows);
  } finally {
    rmSync(study.dir, { recursive: true, force: true });
  }
  await compressedRows(rows);
  return rows;
}
