/**
 * The two TIFF compressions small enough to write here (TIFF 6.0 sections 9 and 13): PackBits and LZW
 * (MSB-first codes, 9 to 12 bits, the early code-width change every TIFF writer uses). Output never
 * grows past the chunk's expected size, whatever the data says.
 */
import { DicomFileError } from '../parse';

export function decodePackBits(data: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  let p = 0;
  while (p < data.length && o < expected) {
    const n = data[p++] ?? 0;
    if (n < 128) {
      const len = Math.min(n + 1, expected - o, data.length - p);
      out.set(data.subarray(p, p + len), o);
      o += len;
      p += n + 1;
    } else if (n > 128) {
      const len = Math.min(257 - n, expected - o);
      out.fill(data[p++] ?? 0, o, o + len);
      o += len;
    }
  }
  return o === expected ? out : out.subarray(0, o);
}

const CLEAR = 256;
const EOI = 257;

export function decodeTiffLzw(data: Uint8Array, expected: number): Uint8Array {
  // Old-style (pre-6.0, LSB-first) LZW starts with bytes 0x00 0x01; nobody writes it any more.
  if (data.length >= 2 && data[0] === 0 && (data[1] ?? 0) & 1) {
    throw new DicomFileError('unsupported-transfer-syntax', 'TIFF: old-style (LSB-first) LZW is not supported.');
  }
  const out = new Uint8Array(expected);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < 256; i += 1) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let next = 258;
  let width = 9;
  let old = -1;
  let o = 0;
  let bitPos = 0;
  const totalBits = data.length * 8;
  const emit = (code: number) => {
    const len = length[code] ?? 0;
    let c = code;
    // Written back to front; the part past the chunk's end is dropped.
    for (let k = len - 1; k >= 0; k -= 1) {
      if (o + k < expected) out[o + k] = suffix[c] ?? 0;
      c = prefix[c] ?? -1;
    }
    o = Math.min(expected, o + len);
  };
  while (o < expected && bitPos + width <= totalBits) {
    let code = 0;
    for (let b = 0; b < width; b += 1) {
      const bit = ((data[(bitPos + b) >> 3] ?? 0) >> (7 - ((bitPos + b) & 7))) & 1;
      code = (code << 1) | bit;
    }
    bitPos += width;
    if (code === EOI) break;
    if (code === CLEAR) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new DicomFileError('decode-failed', `TIFF: LZW data starts with code ${code}, not a literal.`);
      emit(code);
      old = code;
      continue;
    }
    if (code > next) throw new DicomFileError('decode-failed', `TIFF: LZW code ${code} is not yet defined (next is ${next}).`);
    const add = next < 4096;
    if (code === next) {
      if (add) {
        prefix[next] = old;
        suffix[next] = first[old] ?? 0;
        first[next] = first[old] ?? 0;
        length[next] = (length[old] ?? 0) + 1;
      }
      emit(code);
    } else {
      emit(code);
      if (add) {
        prefix[next] = old;
        suffix[next] = first[code] ?? 0;
        first[next] = first[old] ?? 0;
        length[next] = (length[old] ?? 0) + 1;
      }
    }
    if (add) next += 1;
    old = code;
    if (next >= (1 << width) - 1 && width < 12) width += 1;
  }
  return o === expected ? out : out.subarray(0, o);
}
