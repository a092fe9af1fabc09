/**
 * A plain (non-DICOM) image decoded into memory: PNG, JPEG or TIFF pages as grey or RGB samples, 8 or 16
 * bits, little-endian in memory, interleaved. The readers check the declared size against a pixel budget
 * before allocating anything a header value sizes, so a hostile file costs bounded memory.
 */
import { DicomFileError } from '../parse';

export type PlainFormat = 'PNG' | 'JPEG' | 'TIFF';

export interface PlainPage {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB); alpha is dropped. */
  samplesPerPixel: 1 | 3;
  bitsPerSample: 8 | 16;
  /** Grey stored with 0 as white (TIFF WhiteIsZero): kept as stored, written as MONOCHROME1. */
  whiteIsZero: boolean;
  /** rows × columns × samples, interleaved. */
  pixels: Uint8Array | Uint16Array;
  /** [row spacing, column spacing] in mm when the file states a physical unit, else null (never guessed). */
  pixelSpacingMm: [number, number] | null;
  /** Where pixelSpacingMm came from, in words ('PNG pHYs', 'TIFF XResolution/YResolution in cm'), or 'unknown'. */
  pixelSpacingSource: string;
}

export interface PlainImage {
  format: PlainFormat;
  pages: PlainPage[];
  /** Pages left out (another size or layout than the first: thumbnails, reduced-resolution pages), in words. */
  notes: string[];
}

/**
 * Largest decoded size of one plain image (all pages, including the decoder's working copy): a 2048²
 * RGB image is 12 MiB; this allows e.g. 10000×10000 RGB at 8 bits while a bomb's declared size is
 * refused before anything is allocated.
 */
export const PLAIN_IMAGE_MAX_BYTES = 512 * 1024 * 1024;
/** Largest width or height (DICOM Rows/Columns are 16-bit). */
export const PLAIN_IMAGE_MAX_SIDE = 65535;
/** Most pages read from one multi-page TIFF. */
export const PLAIN_IMAGE_MAX_PAGES = 4096;

/** Refuses a declared size that is empty, larger than DICOM can hold, or over the budget. */
export function checkDeclaredSize(format: PlainFormat, width: number, height: number, bytesPerPixel: number, alreadyUsed = 0): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new DicomFileError('decode-failed', `The ${format} header declares ${width}x${height} pixels: no image.`);
  }
  if (width > PLAIN_IMAGE_MAX_SIDE || height > PLAIN_IMAGE_MAX_SIDE) {
    throw new DicomFileError('too-large', `The ${format} header declares ${width}x${height} pixels; at most ${PLAIN_IMAGE_MAX_SIDE} a side can be stored.`);
  }
  const bytes = width * height * bytesPerPixel;
  if (bytes + alreadyUsed > PLAIN_IMAGE_MAX_BYTES) {
    const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
    throw new DicomFileError(
      'too-large',
      `The ${format} image declares ${width}x${height} pixels (${mib(bytes)} decoded${alreadyUsed ? `, ${mib(alreadyUsed)} already read` : ''}); more than the ${mib(PLAIN_IMAGE_MAX_BYTES)} a plain image may use. Nothing was allocated.`,
    );
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The plain-image format named by a file's first bytes, or null. */
export function plainFormatOf(head: Uint8Array): PlainFormat | null {
  if (head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b)) return 'PNG';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'JPEG';
  if (head.length >= 4 && ((head[0] === 0x49 && head[1] === 0x49 && head[2] === 42 && head[3] === 0) || (head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && head[3] === 42))) return 'TIFF';
  if (head.length >= 4 && ((head[0] === 0x49 && head[1] === 0x49 && head[2] === 43) || (head[0] === 0x4d && head[1] === 0x4d && head[3] === 43))) return 'TIFF';
  return null;
}

/** Drops the alpha (or extra) samples of interleaved pixels: keep the first `keep` of every `stride`. */
export function dropExtraSamples<T extends Uint8Array | Uint16Array>(src: T, pixels: number, stride: number, keep: number, make: (n: number) => T): T {
  if (stride === keep) return src;
  const out = make(pixels * keep);
  for (let p = 0; p < pixels; p += 1) {
    for (let k = 0; k < keep; k += 1) out[p * keep + k] = src[p * stride + k] ?? 0;
  }
  return out;
}
