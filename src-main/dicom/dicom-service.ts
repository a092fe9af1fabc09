/**
 * The `dicom` domain: import jobs (files parsed in a worker thread), the series index, and frame
 * decoding (in a second worker, so a long import never delays the viewer's frames).
 */
import { opendir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  dicomErrorCodes,
  probeEntrySchema,
  type dicomContract,
  type FileProblem,
  type Frame,
  type ImportEntry,
  type ImportReport,
  type ProbeEntry,
} from '../../src-shared/contracts/dicom';
import { DomainError } from '../../src-shared/ipc/envelope';
import type { DomainHandlers } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import { SeriesIndex } from './series-index';
import { DicomWorkerClient, WorkerRequestError } from './worker-client';

export interface DicomServiceOptions {
  jobs: JobManager;
  /** Folder for the persisted index; null keeps it in memory only (tests). */
  dataDir: string | null;
  /** Per-file time limit for parsing and decoding. */
  fileTimeoutMs?: number;
  /** Worker threads parsing files during an import (default: 1, or cores − 2 up to 4 with 4+ cores). */
  scanWorkers?: number;
  /** Largest file read (default 1 GiB); bigger files are refused with a message, from their header alone. */
  maxFileBytes?: number;
}

export interface DicomService {
  handlers: DomainHandlers<typeof dicomContract>;
  index: SeriesIndex;
  /**
   * Starts the worker threads now (the window calls nothing yet): the Electron app calls this once the
   * window is shown, so the first import does not wait for worker start-up. The CLI does not.
   */
  warm(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every regular file under the given paths (folders recursively; links inside folders are not followed).
 * inFolder: found by the walk, so it is opened without following a link swapped in since.
 */
async function* expandPaths(paths: string[], signal: AbortSignal): AsyncGenerator<{ path: string; error?: string; inFolder?: boolean }> {
  for (const p of paths) {
    const abs = path.resolve(p);
    let st;
    try {
      st = await stat(abs);
    } catch (e) {
      yield { path: abs, error: `Cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
      continue;
    }
    if (st.isFile()) {
      yield { path: abs };
      continue;
    }
    if (!st.isDirectory()) continue;
    const stack = [abs];
    while (stack.length) {
      if (signal.aborted) return;
      const dir = stack.pop()!;
      let handle;
      try {
        handle = await opendir(dir);
      } catch (e) {
        yield { path: dir, error: `Cannot list the folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
        continue;
      }
      const files: string[] = [];
      for await (const d of handle) {
        const full = path.join(dir, d.name);
        if (d.isDirectory()) stack.push(full);
        else if (d.isFile()) files.push(full);
      }
      files.sort();
      for (const f of files) yield { path: f, inFolder: true };
    }
  }
}

export function createDicomService(options: DicomServiceOptions): DicomService {
  const timeoutMs = options.fileTimeoutMs ?? 20_000;
  const index = new SeriesIndex(options.dataDir ? path.join(options.dataDir, 'dicom', 'index.json') : null);
  index.load();
  // Imports parse files on one worker, or up to 4 with 4+ cores (measured on 2 loaded cores: a second
  // scan worker's start-up costs more than it saves); frames decode on their own worker so a long
  // import never delays the viewer.
  const cores = availableParallelism();
  const scanWorkerCount = options.scanWorkers ?? (cores >= 4 ? Math.min(4, cores - 2) : 1);
  const limits = options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {};
  const scanners = Array.from({ length: scanWorkerCount }, () => new DicomWorkerClient(timeoutMs, limits));
  const decoder = new DicomWorkerClient(timeoutMs, limits);

  async function runImport(paths: string[], signal: AbortSignal, progress: (done: number, total: number, message?: string) => void, report: ImportReport): Promise<ImportReport> {
    const started = Date.now();
    const seen = new Set<string>();
    const queue: string[] = [];
    const noFollow = new Set<string>();
    const series = new Set<string>();
    const push = (entry: ImportEntry) => {
      report.entries.push(entry);
      if (entry.status === 'ok') report.imported += 1;
      else if (entry.status === 'error') report.failed += 1;
      else report.skipped += 1;
      report.files = report.entries.length;
    };
    for await (const f of expandPaths(paths, signal)) {
      if (f.error) push({ path: f.path, status: 'error', problem: 'unreadable', message: f.error });
      else if (!seen.has(f.path)) {
        seen.add(f.path);
        queue.push(f.path);
        if (f.inFolder) noFollow.add(f.path);
      }
    }
    let done = 0;
    let next = 0;
    progress(0, queue.length + report.entries.length, 'reading files');
    const scanLoop = async (scanner: DicomWorkerClient) => {
      while (next < queue.length) {
        if (signal.aborted) break;
        const file = queue[next++]!;
        try {
          const res = await scanner.request({ type: 'scan', path: file, noFollow: noFollow.has(file) }, timeoutMs, signal);
          if (res.type !== 'scan') throw new WorkerRequestError('unreadable', res.type === 'error' ? res.message : 'unexpected worker reply');
          const r = res.result;
          if (r.status === 'ok') {
            index.add({ path: r.path, meta: r.meta });
            series.add(r.meta.seriesUid);
            push({ path: r.path, status: 'ok', seriesUid: r.meta.seriesUid });
          } else {
            push({ path: r.path, status: r.status, problem: r.problem, message: r.message });
            for (const refused of r.status === 'skipped' ? (r.refusedReferences ?? []) : []) {
              if (seen.has(refused.path)) continue;
              seen.add(refused.path);
              push({ path: refused.path, status: 'error', problem: 'refused', message: refused.message });
            }
            if (r.status === 'skipped' && r.referencedFiles) {
              for (const ref of r.referencedFiles) {
                if (!seen.has(ref)) {
                  seen.add(ref);
                  queue.push(ref);
                  noFollow.add(ref);
                }
              }
            }
          }
        } catch (e) {
          if (signal.aborted) break;
          const problem = e instanceof WorkerRequestError ? e.problem : 'unreadable';
          push({ path: file, status: 'error', problem, message: e instanceof Error ? e.message : String(e) });
        }
        done += 1;
        progress(done, queue.length, path.basename(file));
      }
    };
    await Promise.all(scanners.map(scanLoop));
    report.seriesUids = [...series];
    report.elapsedMs = Date.now() - started;
    try {
      index.save();
    } catch {
      // The index is a cache; failing to write it does not undo the import.
    }
    return report;
  }

  const handlers: DomainHandlers<typeof dicomContract> = {
    import({ paths }, ctx) {
      const report: ImportReport = { files: 0, imported: 0, failed: 0, skipped: 0, seriesUids: [], entries: [], elapsedMs: 0 };
      // Warm the decode worker now, so the first frame asked for during the import is not kept waiting.
      void decoder.request({ type: 'probe', path: '' }).catch(() => undefined);
      return options.jobs.start({
        kind: 'dicom-import',
        sink: ctx.sink,
        run: ({ signal, progress }) => runImport(paths, signal, (done, total, message) => progress({ done, total, message }), report),
        onCancelled: () => report,
      });
    },
    listStudies() {
      return index.listStudies();
    },
    getSeries({ seriesUid }) {
      const d = index.detail(seriesUid);
      if (!d) throw new DomainError(dicomErrorCodes.seriesNotFound, `No imported series ${seriesUid}.`);
      return d;
    },
    async getFrame({ seriesUid, index: i }) {
      if (!index.has(seriesUid)) throw new DomainError(dicomErrorCodes.seriesNotFound, `No imported series ${seriesUid}.`);
      const image = index.image(seriesUid, i);
      if (!image) throw new DomainError(dicomErrorCodes.frameOutOfRange, `Series ${seriesUid} has no image ${i}.`);
      let res;
      try {
        res = await decoder.request({ type: 'decode', path: image.instance.path, frame: image.frame });
      } catch (e) {
        throw new DomainError(dicomErrorCodes.decodeFailed, e instanceof Error ? e.message : String(e));
      }
      if (res.type === 'error') {
        const code = res.problem === 'unreadable' ? dicomErrorCodes.fileGone : dicomErrorCodes.decodeFailed;
        throw new DomainError(code, `${path.basename(image.instance.path)}: ${res.message}`);
      }
      if (res.type !== 'decode') throw new DomainError(dicomErrorCodes.decodeFailed, 'unexpected worker reply');
      const { meta, pixels, color, modalityApplied, min, max } = res.frame;
      const frame: Frame = {
        seriesUid,
        index: i,
        count: image.count,
        sopInstanceUid: meta.sopInstanceUid,
        sopClassUid: meta.sopClassUid,
        instanceNumber: meta.instanceNumber,
        frame: image.frame,
        transferSyntax: meta.transferSyntax,
        rows: meta.rows,
        columns: meta.columns,
        samplesPerPixel: meta.samplesPerPixel,
        photometric: meta.photometric,
        color,
        invert: meta.photometric === 'MONOCHROME1',
        bitsAllocated: meta.bitsAllocated,
        bitsStored: meta.bitsStored,
        pixelRepresentation: meta.pixelRepresentation,
        pixels,
        minPixelValue: min,
        maxPixelValue: max,
        rescaleSlope: modalityApplied ? 1 : meta.rescaleSlope,
        rescaleIntercept: modalityApplied ? 0 : meta.rescaleIntercept,
        rescaleType: meta.rescaleType,
        windows: meta.windows,
        voiLutFunction: meta.voiLutFunction,
        voiLut: meta.voiLut,
        pixelSpacing: meta.pixelSpacing,
        pixelSpacingSource: meta.pixelSpacingSource,
        imagePositionPatient: meta.framePositions[image.frame] ?? null,
        imageOrientationPatient: meta.imageOrientationPatient,
        sliceThickness: meta.sliceThickness,
        frameOfReferenceUid: meta.frameOfReferenceUid,
        overlay: {
          patientName: meta.patientName,
          patientId: meta.patientId,
          studyDate: meta.studyDate,
          studyDescription: meta.studyDescription,
          seriesDescription: meta.seriesDescription,
          seriesNumber: meta.seriesNumber,
          modality: meta.modality,
          institutionName: meta.institutionName,
        },
      };
      return frame;
    },
    async probe({ paths }) {
      const out: ProbeEntry[] = [];
      const never = new AbortController().signal;
      const failed = (file: string, problem: FileProblem, error: string): ProbeEntry => ({
        path: file,
        ok: false,
        problem,
        error,
        sopClassUid: null,
        modality: null,
        transferSyntax: null,
        rows: null,
        columns: null,
        frames: null,
        pixelSpacing: null,
        photometric: null,
        min: null,
        max: null,
        mean: null,
      });
      for await (const f of expandPaths(paths, never)) {
        if (f.error) {
          out.push(failed(f.path, 'unreadable', f.error));
          continue;
        }
        try {
          const res = await decoder.request({ type: 'probe', path: f.path });
          if (res.type !== 'probe') throw new WorkerRequestError(res.type === 'error' ? res.problem : 'unreadable', res.type === 'error' ? res.message : 'unexpected worker reply');
          // One entry the response schema refuses must not fail the whole probe: it becomes that file's error.
          const checked = probeEntrySchema.safeParse(res.entry);
          if (checked.success) out.push(checked.data);
          else out.push(failed(f.path, 'decode-failed', `The file's values cannot be reported (${checked.error.issues[0]?.path.join('.') ?? 'entry'}: ${checked.error.issues[0]?.message ?? 'invalid'}).`));
        } catch (e) {
          out.push(failed(f.path, e instanceof WorkerRequestError ? e.problem : 'unreadable', e instanceof Error ? e.message : String(e)));
        }
      }
      return out;
    },
  };

  return {
    handlers,
    index,
    async warm() {
      // An empty path: the worker starts, answers 'cannot read', and stays up.
      await Promise.all([...scanners, decoder].map((c) => c.request({ type: 'scan', path: '' }).catch(() => undefined)));
    },
    async close() {
      await Promise.all([...scanners.map((c) => c.close()), decoder.close()]);
    },
  };
}
