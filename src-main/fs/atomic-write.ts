import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** false: fail with EEXIST when the file exists (checked atomically at the final step), never replace it. */
  overwrite?: boolean;
  /** Mode of the new file (default 0o666 less the umask). */
  mode?: number;
}

/**
 * Writes a file so that a reader (or a crash) sees the old file or the whole new one, never a part:
 * temp file in the same folder, fsync, rename (or, when overwriting is not allowed, a hard link, which
 * fails atomically on an existing name where a check-then-rename could race).
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, options.mode !== undefined ? { mode: options.mode } : {});
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.overwrite === false) {
      linkSync(tmp, file);
      rmSync(tmp, { force: true });
    } else {
      renameSync(tmp, file);
    }
  } catch (e) {
    // A full disk or a vanished folder leaves no half-written temp file behind.
    rmSync(tmp, { force: true });
    throw e;
  }
}
