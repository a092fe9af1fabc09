/**
 * Starts a worker thread from its entry file beside the caller: the built `<entry>.js` in a bundle, or
 * the TypeScript source under tsx and vitest. Workers do not inherit tsx's loader from --import reliably
 * (vitest has none), so the TypeScript entry is loaded through tsx's ESM hooks registered inside the worker.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `callerUrl`: the caller's import.meta.url; `entry`: the worker file's name beside it, without extension. */
export function startWorker(callerUrl: string, entry: string, options: WorkerOptions = {}): Worker {
  if (callerUrl.endsWith('.ts')) {
    const source = new URL(`./${entry}.ts`, callerUrl).href;
    const tsxApi = path.join(path.dirname(createRequire(callerUrl).resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
    const boot = `import(${JSON.stringify(pathToFileURL(tsxApi).href)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); });`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL(`./${entry}.js`, callerUrl), options);
}
