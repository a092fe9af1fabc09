import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE, restrictMode } from './private-files';

/**
 * Writes a file so that a reader (or a crash) sees the old file or the whole new one, never a part:
 * temp file in the same folder, fsync, rename. What this app writes is patient data (generated DICOM,
 * reports, images): the file is 0600 and missing folders 0700 (private-files.ts).
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
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
    renameSync(tmp, file);
  } catch (e) {
    // A full disk or a vanished folder leaves no half-written temp file behind.
    rmSync(tmp, { force: true });
    throw e;
  }
}
