/**
 * Runs requests on a DICOM worker thread with a time limit each. A request that runs past its limit (a
 * hostile file that makes a codec spin) terminates the worker; the request fails with 'timeout' and
 * the next request starts a fresh worker. A crashed worker fails its request the same way.
 */
import type { Worker } from 'node:worker_threads';
import type { FileProblem } from '../../src-shared/contracts/dicom';
import { startWorker } from '../workers/start-worker';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type Body<T> = T extends unknown ? Omit<T, 'id'> : never;
export type RequestBody = Body<WorkerRequest>;

export class WorkerRequestError extends Error {
  override name = 'WorkerRequestError';
  constructor(
    readonly problem: FileProblem,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  worker: Worker;
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface WorkerLimits {
  /** Largest file the worker reads whole (default: parse.ts MAX_DICOM_BYTES). */
  maxFileBytes?: number;
  /** The worker's JavaScript heap (MB): a file that needs more stops the worker, not the app. */
  maxHeapMb?: number;
}

/**
 * Heap for one DICOM worker: pixel buffers live outside it; it holds data sets, LUTs and positions. A
 * backstop only: V8 aborts the whole process, limit or not, when one array grows past it in one go, so
 * parse.ts and pixels.ts bound every allocation a header value sizes before making it.
 */
const DEFAULT_WORKER_HEAP_MB = 512;

export class DicomWorkerClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Requests are sent one at a time, so a timeout can be pinned on the request that caused it. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly timeoutMs = 20_000,
    private readonly limits: WorkerLimits = {},
  ) {}

  /**
   * Queues a request. `signal` aborts it: a queued request never starts, a running one terminates the
   * worker (a cancelled import stops at once even inside a slow file).
   */
  request(body: RequestBody, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<WorkerResponse> {
    const run = this.chain.then(() => {
      if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      return this.send(body, timeoutMs, signal);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'dicom-worker', {
      workerData: { maxFileBytes: this.limits.maxFileBytes },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.maxHeapMb ?? DEFAULT_WORKER_HEAP_MB, maxYoungGenerationSizeMb: 64 },
    });
    worker.unref();
    worker.on('message', (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    const fail = (why: string, problem: FileProblem = 'unreadable') => {
      if (this.worker === worker) this.worker = null;
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue; // a newer worker's requests are not affected
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new WorkerRequestError(problem, why));
      }
    };
    worker.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        fail(`Reading the file needed more memory than a DICOM worker may use (${this.limits.maxHeapMb ?? DEFAULT_WORKER_HEAP_MB} MB) and was stopped.`, 'too-large');
      } else fail(`The DICOM worker failed: ${e.message}`);
    });
    worker.on('exit', (code) => fail(`The DICOM worker stopped (exit code ${code}).`));
    this.worker = worker;
    return worker;
  }

  private send(body: RequestBody, timeoutMs: number, signal?: AbortSignal): Promise<WorkerResponse> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      const stop = (error: Error) => {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        if (this.worker === worker) this.worker = null;
        void worker.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => stop(new WorkerRequestError('timeout', `Reading the file took longer than ${(timeoutMs / 1000).toFixed(timeoutMs < 1000 ? 3 : 0)} s and was stopped.`)),
        timeoutMs,
      );
      const onAbort = () => stop(new DOMException('cancelled', 'AbortError'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        worker,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        timer,
      });
      worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
