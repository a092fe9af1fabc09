/**
 * JPEG through the libjpeg-turbo WASM codec the DICOM decoder already loads. The markers are walked here
 * first: the frame header's size is checked against the budget before decoding, and a file without its
 * end-of-image marker is refused as truncated (libjpeg-turbo would fill the missing rows with grey and
 * only warn). 8-bit grey and 3-component colour only; CMYK and 12-bit are refused in words. JFIF
 * density gives the pixel size only when its unit is the inch or the centimetre.
 */
import { decodeJpegBaseline } from '../codecs';
import { DicomFileError } from '../parse';
import { checkDeclaredSize, type PlainImage, type PlainPage } from './plain-image';

interface JpegHeader {
  width: number;
  height: number;
  components: number;
  precision: number;
  spacing: Pick<PlainPage, 'pixelSpacingMm' | 'pixelSpacingSource'>;
}

const truncated = (what: string) => new DicomFileError('truncated', `JPEG: the file is truncated (${what}).`);

function readMarkers(bytes: Uint8Array): JpegHeader {
  let at = 2;
  let header: JpegHeader | null = null;
  let spacing: JpegHeader['spacing'] = { pixelSpacingMm: null, pixelSpacingSource: 'unknown' };
  const u16 = (p: number) => ((bytes[p] ?? 0) << 8) | (bytes[p + 1] ?? 0);
  for (;;) {
    if (at + 4 > bytes.length) throw truncated('it ends among its header segments');
    if (bytes[at] !== 0xff) throw new DicomFileError('decode-failed', `JPEG: no marker at byte ${at}.`);
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const len = u16(at + 2);
    if (at + 2 + len > bytes.length) throw truncated(`segment 0x${marker.toString(16)} runs past the end`);
    const body = at + 4;
    if (marker === 0xe0 && len >= 14 && String.fromCharCode(...bytes.subarray(body, body + 5)) === 'JFIF\0') {
      const unit = bytes[body + 7];
      const x = u16(body + 8);
      const y = u16(body + 10);
      const mmPerUnit = unit === 1 ? 25.4 : unit === 2 ? 10 : 0;
      if (mmPerUnit && x > 0 && y > 0) spacing = { pixelSpacingMm: [mmPerUnit / y, mmPerUnit / x], pixelSpacingSource: `JFIF density per ${unit === 1 ? 'inch' : 'centimetre'}` };
    }
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) throw new DicomFileError('unsupported-transfer-syntax', `JPEG: frame type SOF${marker - 0xc0} (lossless or arithmetic) is not supported.`);
      header = { precision: bytes[body] ?? 0, height: u16(body + 1), width: u16(body + 3), components: bytes[body + 5] ?? 0, spacing };
    }
    if (marker === 0xda) break; // start of scan: the entropy-coded data follows
    at += 2 + len;
  }
  if (!header) throw new DicomFileError('decode-failed', 'JPEG: no frame header before the image data.');
  header.spacing = spacing;
  // The end-of-image marker must close the file (trailing padding zeros allowed).
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0) end -= 1;
  if (!(bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9)) throw truncated('no end-of-image marker');
  return header;
}

export function readJpeg(bytes: Uint8Array): PlainImage {
  const h = readMarkers(bytes);
  if (h.precision !== 8) throw new DicomFileError('unsupported-transfer-syntax', `JPEG: ${h.precision}-bit samples are not supported (8-bit are).`);
  if (h.components !== 1 && h.components !== 3) throw new DicomFileError('unsupported-transfer-syntax', `JPEG: ${h.components} components (CMYK?) are not supported; grey and colour are.`);
  checkDeclaredSize('JPEG', h.width, h.height, h.components * 2);
  let decoded;
  try {
    decoded = decodeJpegBaseline(bytes);
  } catch (e) {
    if (e instanceof Error && e.name === 'CodecNotLoadedError') throw e;
    throw new DicomFileError('decode-failed', `JPEG: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (decoded.width !== h.width || decoded.height !== h.height || decoded.bytes.length !== h.width * h.height * h.components) {
    throw new DicomFileError('decode-failed', `JPEG: decoded ${decoded.width}x${decoded.height} (${decoded.bytes.length} bytes) where the header says ${h.width}x${h.height}x${h.components}.`);
  }
  return {
    format: 'JPEG',
    pages: [{ width: h.width, height: h.height, samplesPerPixel: h.components as 1 | 3, bitsPerSample: 8, whiteIsZero: false, pixels: decoded.bytes, ...h.spacing }],
    notes: [],
  };
}
