import type { Worker } from 'node:worker_threads';
import { startWorker } from '../workers/start-worker';
import type { ArgOf, FromWorker, ResultOf, SerializedError, ToWorker, WorkerMethod } from './worker-api';

/** An error raised in the worker, with SQLite's code (SQLITE_FULL, …) or the refusal reason kept. */
export class WorkerCallError extends Error {
  readonly code: string | undefined;
  readonly reason: string | undefined;
  readonly schemaVersion: number | null | undefined;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = e.name;
    this.code = e.code;
    this.reason = e.reason;
    this.schemaVersion = e.schemaVersion;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  onProgress: ((done: number, total: number) => void) | undefined;
}

export interface CallOptions {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export class SqlWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private exited: Error | null = null;

  constructor() {
    this.worker = startWorker(import.meta.url, 'sql-worker', { name: 'healthgpt-sql' });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the SQL worker stopped (exit code ${code})`)));
  }

  call<K extends WorkerMethod>(method: K, arg: ArgOf<K>, options: CallOptions = {}): Promise<ResultOf<K>> {
    if (this.exited) return Promise.reject(this.exited);
    const seq = (this.seq += 1);
    return new Promise<ResultOf<K>>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, onProgress: options.onProgress });
      if (options.signal) {
        const cancel = () => this.worker.postMessage({ type: 'cancel', seq } satisfies ToWorker);
        if (options.signal.aborted) cancel();
        else options.signal.addEventListener('abort', cancel, { once: true });
      }
      this.worker.postMessage({ type: 'call', seq, method, arg } satisfies ToWorker);
    });
  }

  private onMessage(m: FromWorker): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.done, m.total);
      return;
    }
    this.pending.delete(m.seq);
    if (m.type === 'result') p.resolve(m.value);
    else p.reject(new WorkerCallError(m.error));
  }

  private failAll(e: Error): void {
    this.exited ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Closes the database (checkpointing the WAL) and stops the thread. */
  async close(): Promise<void> {
    if (this.exited) return;
    try {
      await this.call('close', {});
    } finally {
      this.exited = new Error('the SQL worker was closed');
      await this.worker.terminate();
    }
  }
}
