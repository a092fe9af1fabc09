import { PNG } from 'pngjs';
import { DomainError } from '../../src-shared/ipc/envelope';

/** A view capture is a screen or two wide; more than this is not a view of ours. */
const MAX_VIEW_PIXELS = 64 * 1024 * 1024;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks a PNG the window sent as a whole (signature, header, every chunk's CRC, the image data) and
 * returns a fresh encoding of its pixels: the bytes written to disk are ours, so nothing hidden in
 * ancillary chunks or after IEND can reach the file.
 */
export function reencodeViewPng(bytes: Uint8Array): Buffer {
  const bad = (why: string) => new DomainError('BAD_REQUEST', `The view image is not a valid PNG (${why}); nothing was written.`);
  if (bytes.byteLength < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw bad('no PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The first chunk must be IHDR; its size is checked before anything is inflated (a decompression bomb).
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw bad('no header chunk');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0 || width * height > MAX_VIEW_PIXELS) throw bad(`${width}×${height} pixels`);
  let decoded: PNG;
  try {
    decoded = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
  return PNG.sync.write(decoded, { colorType: 6 });
}
