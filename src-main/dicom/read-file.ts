/**
 * Reading a DICOM file with bounded memory: the first bytes decide whether it may be DICOM, the size is
 * checked before anything else is read (a file over the cap is described from its header alone), and a
 * file found inside a folder or listed by a DICOMDIR is opened without following a link.
 */
import { fileErrorText } from '../fs/file-errors';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dicomParser } from './dicom-parser-lib';
import { DicomFileError, formatBytes, MAX_DICOM_BYTES, mayBeDicom } from './parse';

/** Bytes read to describe a file too big to read whole. */
const HEADER_BYTES = 1024 * 1024;

export interface ReadLimits {
  /** Largest file read whole (default MAX_DICOM_BYTES). */
  maxBytes?: number;
  /** Refuse a symbolic link instead of reading what it points to. */
  noFollow?: boolean;
  /** Say 'not DICOM' from the first 132 bytes without reading the rest. */
  checkHead?: boolean;
}

function readAt(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? out : out.subarray(0, got);
}

/** "(MR image, 512x512, 300 frames)" from the elements before the pixel data, or '' when unreadable. */
function describeHeader(head: Uint8Array): string {
  try {
    const ds = dicomParser.parseDicom(head, { untilTag: 'x7fe00010' });
    const text = (tag: string): string => (ds.string(tag) ?? '').trim();
    const rows = ds.elements.x00280010 ? ds.uint16('x00280010') : undefined;
    const columns = ds.elements.x00280011 ? ds.uint16('x00280011') : undefined;
    const frames = text('x00280008');
    const parts = [`${text('x00080060') || 'DICOM'} image`];
    if (rows && columns) parts.push(`${columns}x${rows}`);
    if (frames) parts.push(`${frames} frames`);
    return ` (${parts.join(', ')})`;
  } catch {
    return '';
  }
}

/**
 * Opens the file under the limits (link refused when asked, regular file, DICOM by its first bytes, size
 * under the cap) and hands the descriptor and size to `read`; every failure is a DicomFileError.
 */
function withDicomFile<T>(path: string, limits: ReadLimits, read: (fd: number, size: number) => T): T {
  const maxBytes = limits.maxBytes ?? MAX_DICOM_BYTES;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (limits.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new DicomFileError('refused', 'The file is a symbolic link, which is not followed inside a folder or a DICOMDIR: it was not read.');
    throw new DicomFileError('unreadable', fileErrorText(e, path));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DicomFileError('unreadable', 'Not a regular file.');
    if (limits.checkHead && st.size > 0 && !mayBeDicom(readAt(fd, 132, 0))) {
      throw new DicomFileError('not-dicom', "Not a DICOM file: no 'DICM' marker at byte 128 and no DICOM data set at the start.");
    }
    if (st.size > maxBytes) {
      const header = describeHeader(readAt(fd, HEADER_BYTES, 0));
      throw new DicomFileError('too-large', `The file is ${formatBytes(st.size)}${header}, over the ${formatBytes(maxBytes)} a file may have here: it was not read, to keep memory bounded.`);
    }
    return read(fd, st.size);
  } catch (e) {
    if (e instanceof DicomFileError) throw e;
    throw new DicomFileError('unreadable', fileErrorText(e, path));
  } finally {
    closeSync(fd);
  }
}

/** The whole file, or a DicomFileError saying why it was not read. */
export function readDicomFile(path: string, limits: ReadLimits = {}): Uint8Array {
  return withDicomFile(path, limits, (fd, size) => readAt(fd, size, 0));
}

/**
 * Reads a growing prefix of the file (from `firstBytes`, up to the whole file) until `attempt` makes
 * something of it: an import reads headers only, not pixel data. Returns what `attempt` made (null when
 * even the whole file was not enough), with the last bytes read and the file's size.
 */
export function readDicomPrefix<T>(
  path: string,
  limits: ReadLimits,
  firstBytes: number,
  attempt: (head: Uint8Array, size: number) => T | null,
): { result: T | null; head: Uint8Array; size: number } {
  return withDicomFile(path, limits, (fd, size) => {
    for (let take = Math.min(size, firstBytes); ; take = Math.min(size, take * 4)) {
      const head = readAt(fd, take, 0);
      const result = attempt(head, size);
      if (result !== null || take >= size) return { result, head, size };
    }
  });
}

/** `length` bytes of the file from `position` (a frame of a big multi-frame file, read on demand). */
export function readDicomRange(path: string, position: number, length: number, limits: ReadLimits = {}): Uint8Array {
  return withDicomFile(path, limits, (fd, size) => {
    if (position + length > size) throw new DicomFileError('truncated', `The pixel data runs past the end of the file (${size} bytes; ${position + length} needed).`);
    return readAt(fd, length, position);
  });
}
