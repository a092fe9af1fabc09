/**
 * Plain images (PNG, JPEG, TIFF) into the local store: read the file (size-capped, links refused where
 * DICOM files are), decode it within the pixel budget, and write it as a secondary-capture DICOM object
 * under the store's plain-image folder, named by the source's hash. Runs in the DICOM worker.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { ProbeEntry } from '../../../src-shared/contracts/dicom';
import { writeFileAtomic } from '../../fs/atomic-write';
import { blankProbeEntry } from '../dicom-frame';
import { DicomFileError, MAX_DICOM_BYTES, parseDicomBytes, type InstanceMeta } from '../parse';
import { readJpeg } from './jpeg-reader';
import { plainFormatOf, type PlainImage } from './plain-image';
import { readPng } from './png-reader';
import { secondaryCaptureFor } from './secondary-capture';
import { readTiff } from './tiff-reader';

/** The file's first bytes (enough to tell the format), or null when unreadable. */
export function readHead(file: string, noFollow = false): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch {
    return null;
  }
  try {
    const head = new Uint8Array(132);
    const n = readSync(fd, head, 0, 132, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the file starts like a PNG, JPEG or TIFF and is not DICOM ('DICM' at 128: a dual-personality
 * DICOM-TIFF file is read as the DICOM it also is).
 */
export function isPlainImageFile(file: string, noFollow = false): boolean {
  const head = readHead(file, noFollow);
  if (!head || plainFormatOf(head) === null) return false;
  return !(head.length >= 132 && String.fromCharCode(...head.subarray(128, 132)) === 'DICM');
}

function readWhole(file: string, noFollow: boolean, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new DicomFileError('refused', 'The file is a symbolic link, which is not followed inside a folder: it was not read.');
    throw new DicomFileError('unreadable', `Cannot read the file: ${(e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new DicomFileError('zero-length', 'The file is empty (0 bytes).');
    if (size > maxBytes) throw new DicomFileError('too-large', `The image file is ${size} bytes; at most ${maxBytes} are read.`);
    const out = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, out, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? out : out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Decodes PNG, JPEG or TIFF bytes (the JPEG codec must be loaded: CodecNotLoadedError otherwise). */
export function decodePlainImage(bytes: Uint8Array): PlainImage {
  const format = plainFormatOf(bytes.subarray(0, 16));
  if (format === 'PNG') return readPng(bytes);
  if (format === 'JPEG') return readJpeg(bytes);
  if (format === 'TIFF') return readTiff(bytes);
  throw new DicomFileError('not-dicom', 'Neither DICOM nor a PNG, JPEG or TIFF image.');
}

export interface WrappedPlainImage {
  /** The secondary-capture file written. */
  storedPath: string;
  meta: InstanceMeta;
  note: string;
}

/** Decodes a plain image file and writes it as secondary-capture DICOM under `outDir`. */
export function wrapPlainImageFile(file: string, outDir: string, options: { noFollow?: boolean; maxBytes?: number } = {}): WrappedPlainImage {
  const bytes = readWhole(file, options.noFollow === true, options.maxBytes ?? MAX_DICOM_BYTES);
  const image = decodePlainImage(bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dicom = secondaryCaptureFor(image, { name: path.basename(file), sha256 });
  const storedPath = path.join(outDir, `${sha256}.dcm`);
  writeFileAtomic(storedPath, dicom);
  const meta = parseDicomBytes(dicom).meta;
  const p = image.pages[0]!;
  const spacing = p.pixelSpacingMm ? `pixel ${(p.pixelSpacingMm[1] * 1000).toPrecision(4)}x${(p.pixelSpacingMm[0] * 1000).toPrecision(4)} um (${p.pixelSpacingSource})` : 'pixel size unknown';
  const pages = image.pages.length > 1 ? `, ${image.pages.length} pages` : '';
  const note = `${image.format} ${p.width}x${p.height} ${p.samplesPerPixel === 3 ? 'RGB' : 'grey'} ${p.bitsPerSample}-bit${pages}, ${spacing}; stored as secondary capture${image.notes.length ? `; ${image.notes.join('; ')}` : ''}`;
  return { storedPath, meta, note };
}

/** `dicom probe` on a plain image: what it is and pixel statistics over all samples. */
export function probePlainImage(file: string, bytes: Uint8Array): ProbeEntry {
  const entry: ProbeEntry = blankProbeEntry(file);
  try {
    const image = decodePlainImage(bytes);
    const p = image.pages[0]!;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let count = 0;
    for (const page of image.pages) {
      for (const v of page.pixels) {
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
      }
      count += page.pixels.length;
    }
    Object.assign(entry, {
      ok: true,
      sourceFormat: image.format,
      photometric: p.samplesPerPixel === 3 ? 'RGB' : p.whiteIsZero ? 'MONOCHROME1' : 'MONOCHROME2',
      samplesPerPixel: p.samplesPerPixel,
      bitsAllocated: p.bitsPerSample,
      rows: p.height,
      columns: p.width,
      frames: image.pages.length,
      pixelSpacing: p.pixelSpacingMm,
      min: count ? min : null,
      max: count ? max : null,
      mean: count ? sum / count : null,
      ...(image.notes.length ? { note: image.notes.join('; ') } : {}),
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'CodecNotLoadedError') throw e;
    entry.ok = false;
    entry.problem = e instanceof DicomFileError ? e.problem : 'unreadable';
    entry.error = e instanceof Error ? e.message : String(e);
  }
  return entry;
}

export { readWhole as readPlainImageBytes };
