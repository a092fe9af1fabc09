import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE, restrictMode } from './private-files';

export interface AtomicWriteOptions {
  /** false: fail with EEXIST when the file exists (checked atomically at the final step), never replace it. */
  overwrite?: boolean;
}

/**
 * Writes a file so that a reader (or a crash) sees the old file or the whole new one, never a part:
 * temp file in the same folder, fsync, rename (or, when overwriting is not allowed, a hard link, which
 * fails atomically on an existing name where a check-then-rename could race). What this app writes is
 * patient data (generated DICOM, reports, images): the file is 0600 and missing folders 0700
 * (private-files.ts).
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  makePrivateDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE });
    restrictMode(tmp, PRIVATE_FILE_MODE); // a temp file left by a crash keeps its old mode otherwise
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
