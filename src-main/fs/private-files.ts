import { chmodSync, mkdirSync } from 'node:fs';

/**
 * Patient data (the history database, imported names and IDs, generated DICOM, backups, exports) is
 * written readable by the app's user only: folders 0700, files 0600. On Windows the mode bits do not
 * carry this (only the read-only flag); there the per-user profile folder's ACLs keep other users out,
 * so the chmod calls below are skipped.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

const posix = process.platform !== 'win32';

/**
 * Sets a path's mode on POSIX. A path that vanished meanwhile is not an error; nor is one owned by
 * another user (EPERM: an archive opened from elsewhere, a policy's shared folder), whose mode is its
 * owner's to set: false then, so the caller can say so.
 */
export function restrictMode(target: string, mode: number): boolean {
  if (!posix) return true;
  try {
    chmodSync(target, mode);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EPERM') return false;
    throw e;
  }
}

/** Creates a folder (and missing parents) for this user only. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * The data folder itself: created 0700, and tightened to 0700 when an earlier version left it 0755, so
 * nothing inside can be reached by other users whatever the modes of older files in it.
 */
export function lockDownDataDir(dir: string): void {
  makePrivateDir(dir);
  if (!restrictMode(dir, PRIVATE_DIR_MODE)) {
    console.warn(`The data folder ${dir} belongs to another user, so its permissions could not be set to 0700; make it readable by its user only.`);
  }
}
