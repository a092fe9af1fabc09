import { parentPort } from 'node:worker_threads';
import { StoreRefusedError } from './database';
import { createWorkerApi, type FromWorker, type SerializedError, type ToWorker, type WorkerCallContext, type WorkerState } from './worker-api';

/**
 * The SQL worker thread: owns the one connection to the history database, so a long query or a backup
 * never blocks the main process's event loop (or the window it serves). Calls are numbered; results,
 * errors and progress come back with the caller's number.
 */
const port = parentPort;
if (!port) throw new Error('sql-worker must run as a worker thread');

const state: WorkerState = { history: null };
const api = createWorkerApi(state) as unknown as Record<string, (arg: unknown, ctx: WorkerCallContext) => unknown>;
const cancelled = new Set<number>();

function serialize(e: unknown): SerializedError {
  if (e instanceof StoreRefusedError) return { name: e.name, message: e.message, reason: e.reason, schemaVersion: e.schemaVersion };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

function post(message: FromWorker): void {
  port?.postMessage(message);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    cancelled.add(message.seq);
    return;
  }
  const { seq, method, arg } = message;
  const fn = api[method];
  const ctx: WorkerCallContext = {
    progress: (done, total) => post({ type: 'progress', seq, done, total }),
    cancelled: () => cancelled.has(seq),
  };
  void (async () => {
    try {
      if (typeof fn !== 'function') throw new Error(`unknown worker method ${String(method)}`);
      const value = await fn(arg, ctx);
      post({ type: 'result', seq, value });
    } catch (e) {
      post({ type: 'error', seq, error: serialize(e) });
    } finally {
      cancelled.delete(seq);
    }
  })();
});

process.on('exit', () => {
  try {
    api.close?.({}, { progress: () => {}, cancelled: () => false });
  } catch {
    // closing at exit is best effort; SQLite recovers from the WAL at the next open
  }
});
