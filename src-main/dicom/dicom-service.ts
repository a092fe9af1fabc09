/**
 * The `dicom` domain as a service: import jobs (files parsed in a worker thread), the series index, and
 * frame decoding (in a second worker, so a long import never delays the viewer's frames). Other services
 * call it directly; dicom-handlers.ts adapts it to the IPC contract at the process edge.
 */
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { dicomErrorCodes, probeEntrySchema, type Frame, type ImportReport, type ProbeEntry, type SeriesDetail, type StudySummary } from '../../src-shared/contracts/dicom';
import type { JobStarted } from '../../src-shared/contracts/jobs';
import { DomainError } from '../../src-shared/ipc/envelope';
import type { EventSink } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import { expandPaths, runImport } from './dicom-import';
import { failedProbe, frameFromDecoded } from './dicom-frame';
import { parseDicomBytes } from './parse';
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
  /**
   * Worker threads decoding frames (default: 1, or cores − 2 up to 4 with 4+ cores): the viewer's
   * prefetch asks for several frames at once, and compressed frames decode in parallel.
   */
  decodeWorkers?: number;
  /** Largest file read (default 1 GiB); bigger files are refused with a message, from their header alone. */
  maxFileBytes?: number;
  /**
   * Where imported PNG, JPEG and TIFF files are stored as secondary-capture DICOM (default: the data
   * folder's dicom/plain-images, or a private temp folder when the index is in memory only).
   */
  plainImageDir?: string;
}

/** A DICOM file this app has just written, with the bytes it wrote. */
export interface WrittenDicomFile {
  path: string;
  bytes: Uint8Array;
}

export interface DicomService {
  /** Starts a `dicom-import` job over files, folders and DICOMDIRs; progress and the report go to `sink`. */
  import(paths: string[], sink: EventSink): JobStarted;
  listStudies(): StudySummary[];
  /** The series' sorted images; DomainError SERIES_NOT_FOUND when it was never imported. */
  getSeries(seriesUid: string): SeriesDetail;
  /** The series' sorted images, or null when nothing of it is imported yet (a retrieve still arriving). */
  findSeries(seriesUid: string): SeriesDetail | null;
  /** Decodes image `index` of the series (in the decode worker). */
  getFrame(seriesUid: string, index: number): Promise<Frame>;
  /** Decode check with pixel statistics, file by file (the CLI's `dicom probe`). */
  probe(paths: string[]): Promise<ProbeEntry[]>;
  /** The file holding image `index` of the series, or null. */
  imageFile(seriesUid: string, index: number): string | null;
  /**
   * Adds files this app wrote (a generated series) to the index from the bytes in hand: no import job and
   * no second read of the file. A rewritten file (same SOP instance) replaces its entry.
   */
  indexWritten(files: WrittenDicomFile[]): void;
  /**
   * Starts the worker threads now (the window calls nothing yet): the Electron app calls this once the
   * window is shown, so the first import does not wait for worker start-up. The CLI does not.
   */
  warm(): Promise<void>;
  close(): Promise<void>;
}

export function createDicomService(options: DicomServiceOptions): DicomService {
  const timeoutMs = options.fileTimeoutMs ?? 20_000;
  const plainImageDir = options.plainImageDir ?? (options.dataDir ? path.join(options.dataDir, 'dicom', 'plain-images') : path.join(tmpdir(), `healthgpt-plain-images-${process.pid}`));
  const index = new SeriesIndex(options.dataDir ? path.join(options.dataDir, 'dicom', 'index.json') : null);
  index.load();
  // Imports read headers on cores − 2 workers up to 8 with 4+ cores, else one (measured on 2 loaded cores:
  // a second scan worker competes with the main thread and the decode worker); the main thread indexes
  // what they send. Frames decode on their own workers so an import never delays the viewer.
  const cores = availableParallelism();
  const scanWorkerCount = options.scanWorkers ?? (cores >= 4 ? Math.min(8, cores - 2) : 1);
  const limits = options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {};
  const scanners = Array.from({ length: scanWorkerCount }, () => new DicomWorkerClient(timeoutMs, limits));
  const decodeWorkerCount = options.decodeWorkers ?? (cores >= 4 ? Math.min(4, cores - 2) : 1);
  const decoders = Array.from({ length: Math.max(1, decodeWorkerCount) }, () => ({ client: new DicomWorkerClient(timeoutMs, limits), busy: 0 }));
  const decoder = decoders[0]!.client;
  /** A decode on the least busy decode worker. */
  const decode = async (path: string, frame: number) => {
    const slot = decoders.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy += 1;
    try {
      return await slot.client.request({ type: 'decode', path, frame });
    } finally {
      slot.busy -= 1;
    }
  };

  const saveIndex = () => {
    try {
      index.save();
    } catch {
      // The index is a cache; failing to write it does not undo what was indexed.
    }
  };

  return {
    import(paths, sink) {
      const report: ImportReport = { files: 0, imported: 0, failed: 0, skipped: 0, seriesUids: [], entries: [], elapsedMs: 0 };
      // Warm the decode worker now, so the first frame asked for during the import is not kept waiting.
      for (const d of decoders) void d.client.request({ type: 'probe', path: '' }).catch(() => undefined);
      return options.jobs.start({
        kind: 'dicom-import',
        sink,
        run: ({ signal, progress }) => runImport({ paths, scanners, index, timeoutMs, plainImageDir }, signal, (done, total, message) => progress({ done, total, message }), report),
        onCancelled: () => report,
      });
    },
    listStudies() {
      return index.listStudies();
    },
    findSeries(seriesUid) {
      return index.detail(seriesUid);
    },
    getSeries(seriesUid) {
      const d = index.detail(seriesUid);
      if (!d) throw new DomainError(dicomErrorCodes.seriesNotFound, `No imported series ${seriesUid}.`);
      return d;
    },
    async getFrame(seriesUid, i) {
      if (!index.has(seriesUid)) throw new DomainError(dicomErrorCodes.seriesNotFound, `No imported series ${seriesUid}.`);
      const image = index.image(seriesUid, i);
      if (!image) throw new DomainError(dicomErrorCodes.frameOutOfRange, `Series ${seriesUid} has no image ${i}.`);
      let res;
      try {
        res = await decode(image.instance.path, image.frame);
      } catch (e) {
        throw new DomainError(dicomErrorCodes.decodeFailed, e instanceof Error ? e.message : String(e));
      }
      if (res.type === 'error') {
        const code = res.problem === 'unreadable' ? dicomErrorCodes.fileGone : dicomErrorCodes.decodeFailed;
        throw new DomainError(code, `${path.basename(image.instance.path)}: ${res.message}`);
      }
      if (res.type !== 'decode') throw new DomainError(dicomErrorCodes.decodeFailed, 'unexpected worker reply');
      return frameFromDecoded(seriesUid, i, image, res.frame);
    },
    async probe(paths) {
      const out: ProbeEntry[] = [];
      const never = new AbortController().signal;
      for await (const f of expandPaths(paths, never)) {
        if (f.error) {
          out.push(failedProbe(f.path, 'unreadable', f.error));
          continue;
        }
        try {
          const res = await decoder.request({ type: 'probe', path: f.path });
          if (res.type !== 'probe') throw new WorkerRequestError(res.type === 'error' ? res.problem : 'unreadable', res.type === 'error' ? res.message : 'unexpected worker reply');
          // One entry the response schema refuses must not fail the whole probe: it becomes that file's error.
          const checked = probeEntrySchema.safeParse(res.entry);
          if (checked.success) out.push(checked.data);
          else out.push(failedProbe(f.path, 'decode-failed', `The file's values cannot be reported (${checked.error.issues[0]?.path.join('.') ?? 'entry'}: ${checked.error.issues[0]?.message ?? 'invalid'}).`));
        } catch (e) {
          out.push(failedProbe(f.path, e instanceof WorkerRequestError ? e.problem : 'unreadable', e instanceof Error ? e.message : String(e)));
        }
      }
      return out;
    },
    imageFile(seriesUid, i) {
      return index.image(seriesUid, i)?.instance.path ?? null;
    },
    indexWritten(files) {
      for (const f of files) index.add({ path: path.resolve(f.path), meta: parseDicomBytes(f.bytes).meta });
      saveIndex();
    },
    async warm() {
      // An empty path: the worker starts, answers 'cannot read', and stays up.
      await Promise.all([...scanners, ...decoders.map((d) => d.client)].map((c) => c.request({ type: 'scan', path: '' }).catch(() => undefined)));
    },
    async close() {
      await Promise.all([...scanners, ...decoders.map((d) => d.client)].map((c) => c.close()));
    },
  };
}
