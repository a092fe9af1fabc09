/**
 * PNG through pngjs (a dependency already), with the header read here first: IHDR's size is checked
 * against the budget before anything is inflated, and pHYs gives the pixel size only when its unit is
 * the metre (unit 0 is an aspect ratio). 16-bit samples are kept; 1/2/4-bit grey is scaled to 8 bits
 * and palettes are expanded to RGB, as Pillow reads them.
 */
import { PNG } from 'pngjs';
import { DicomFileError } from '../parse';
import { checkDeclaredSize, dropExtraSamples, type PlainImage, type PlainPage } from './plain-image';

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  spacing: Pick<PlainPage, 'pixelSpacingMm' | 'pixelSpacingSource'>;
}

function readHeader(bytes: Uint8Array): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 33 || type(12) !== 'IHDR') throw new DicomFileError('truncated', 'PNG: the file ends before its header (IHDR) chunk.');
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    depth: bytes[24] ?? 0,
    colorType: bytes[25] ?? 0,
    spacing: { pixelSpacingMm: null, pixelSpacingSource: 'unknown' },
  };
  // Walk the chunks up to the first IDAT for pHYs (it must come before the image data).
  let at = 8;
  while (at + 8 <= bytes.length) {
    const len = view.getUint32(at);
    const name = type(at + 4);
    if (name === 'IDAT' || name === 'IEND') break;
    if (name === 'pHYs' && len === 9 && at + 17 <= bytes.length) {
      const x = view.getUint32(at + 8);
      const y = view.getUint32(at + 12);
      if (bytes[at + 16] === 1 && x > 0 && y > 0) header.spacing = { pixelSpacingMm: [1000 / y, 1000 / x], pixelSpacingSource: 'PNG pHYs (pixels per metre)' };
    }
    at += 12 + len;
  }
  return header;
}

export function readPng(bytes: Uint8Array): PlainImage {
  const h = readHeader(bytes);
  const sixteen = h.depth === 16;
  // pngjs holds the inflated rows and an RGBA copy: budget both, before it allocates either.
  checkDeclaredSize('PNG', h.width, h.height, (sixteen ? 2 : 1) * 8);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true, skipRescale: sixteen } as Parameters<typeof PNG.sync.read>[1]);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end|end of file|premature|truncat|incomplete|unexpected eof/i.test(message);
    throw new DicomFileError(truncated ? 'truncated' : 'decode-failed', `PNG: ${truncated ? 'the file is truncated' : 'the image cannot be decoded'} (${message}).`);
  }
  const grey = h.colorType === 0 || h.colorType === 4;
  const keep = grey ? 1 : 3;
  const n = h.width * h.height;
  const data = png.data as unknown as Uint8Array | Uint16Array;
  const pixels = data instanceof Uint16Array ? dropExtraSamples(data, n, 4, keep, (k) => new Uint16Array(k)) : dropExtraSamples(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), n, 4, keep, (k) => new Uint8Array(k));
  if (pixels.length !== n * keep) throw new DicomFileError('decode-failed', `PNG: decoded ${pixels.length} samples where ${n * keep} were expected.`);
  return {
    format: 'PNG',
    pages: [{ width: h.width, height: h.height, samplesPerPixel: keep, bitsPerSample: sixteen ? 16 : 8, whiteIsZero: false, pixels, ...h.spacing }],
    notes: [],
  };
}
