/**
 * One import: walk the given paths, parse each file on the scan workers, add what parses to the series
 * index, and report every file (imported, skipped, failed). Runs inside a `dicom-import` job.
 */
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImportEntry, ImportReport } from '../../src-shared/contracts/dicom';
import { fileErrorText } from '../fs/file-errors';
import type { SeriesIndex } from './series-index';
import { WorkerRequestError, type DicomWorkerClient } from './worker-client';

export interface ImportScan {
  paths: string[];
  scanners: DicomWorkerClient[];
  index: SeriesIndex;
  /** Per-file time limit for parsing. */
  timeoutMs: number;
  /** Where PNG, JPEG and TIFF files are stored as secondary-capture DICOM; without it they are 'not DICOM'. */
  plainImageDir?: string;
}

/**
 * Every regular file under the given paths (folders recursively; links inside folders are not followed).
 * inFolder: found by the walk, so it is opened without following a link swapped in since.
 */
export async function* expandPaths(paths: string[], signal: AbortSignal): AsyncGenerator<{ path: string; error?: string; inFolder?: boolean }> {
  for (const p of paths) {
    const abs = path.resolve(p);
    let st;
    try {
      st = await stat(abs);
    } catch (e) {
      yield { path: abs, error: fileErrorText(e, abs) };
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
        yield { path: dir, error: `Cannot list the folder: ${fileErrorText(e, dir)}` };
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

export async function runImport(
  { paths, scanners, index, timeoutMs, plainImageDir }: ImportScan,
  signal: AbortSignal,
  progress: (done: number, total: number, message?: string) => void,
  report: ImportReport,
): Promise<ImportReport> {
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
        const res = await scanner.request({ type: 'scan', path: file, noFollow: noFollow.has(file), ...(plainImageDir ? { plainImageDir } : {}) }, timeoutMs, signal);
        if (res.type !== 'scan') throw new WorkerRequestError('unreadable', res.type === 'error' ? res.message : 'unexpected worker reply');
        const r = res.result;
        if (r.status === 'ok') {
          index.add({ path: r.storedPath ?? r.path, meta: r.meta });
          series.add(r.meta.seriesUid);
          push({ path: r.path, status: 'ok', seriesUid: r.meta.seriesUid, ...(r.note ? { message: r.note } : {}) });
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

