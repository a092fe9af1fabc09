/**
 * A baseline TIFF reader (no TIFF package is among the dependencies): classic TIFF, both byte orders,
 * strips or tiles, uncompressed, PackBits, LZW or Deflate (with the horizontal predictor), 8 or 16-bit
 * unsigned grey or RGB (alpha/extra samples dropped), chunky or planar, every page of a multi-page file.
 * Every offset and count is checked against the file; each page's declared size against the budget
 * before its buffer exists. BigTIFF, JPEG-in-TIFF, palette, float and bilevel pages are refused in words.
 */
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import type { FileProblem } from '../../../src-shared/contracts/dicom';
import { DicomFileError } from '../parse';
import { checkDeclaredSize, dropExtraSamples, PLAIN_IMAGE_MAX_PAGES, type PlainImage, type PlainPage } from './plain-image';
import { decodeTiffLzw, decodePackBits } from './tiff-codecs';

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

interface Entry {
  type: number;
  count: number;
  /** Offset of the value bytes in the file. */
  at: number;
}

const bad = (message: string, problem: FileProblem = 'decode-failed') => new DicomFileError(problem, `TIFF: ${message}`);

class TiffFile {
  readonly view: DataView;
  readonly little: boolean;

  constructor(readonly bytes: Uint8Array) {
    if (bytes.length < 8) throw bad('the file ends inside its 8-byte header.', 'truncated');
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.little = bytes[0] === 0x49;
    const magic = this.u16(2);
    if (magic === 43) throw bad('BigTIFF files are not supported.', 'unsupported-transfer-syntax');
    if (magic !== 42) throw bad(`not a TIFF header (magic ${magic}).`);
  }

  u16(at: number): number {
    if (at + 2 > this.bytes.length) throw bad(`an offset (${at}) points past the end of the file.`, 'truncated');
    return this.view.getUint16(at, this.little);
  }

  u32(at: number): number {
    if (at + 4 > this.bytes.length) throw bad(`an offset (${at}) points past the end of the file.`, 'truncated');
    return this.view.getUint32(at, this.little);
  }

  readIfd(offset: number): { entries: Map<number, Entry>; next: number } {
    const count = this.u16(offset);
    if (offset + 2 + count * 12 + 4 > this.bytes.length) throw bad(`the directory at ${offset} (${count} entries) runs past the end of the file.`, 'truncated');
    const entries = new Map<number, Entry>();
    for (let i = 0; i < count; i += 1) {
      const e = offset + 2 + i * 12;
      const tag = this.u16(e);
      const type = this.u16(e + 2);
      const n = this.u32(e + 4);
      const size = TYPE_SIZES[type];
      if (!size) continue; // an unknown type: baseline readers skip the entry
      const total = size * n;
      const at = total <= 4 ? e + 8 : this.u32(e + 8);
      if (at + total > this.bytes.length) throw bad(`tag ${tag}'s ${n} value(s) lie past the end of the file.`, 'truncated');
      entries.set(tag, { type, count: n, at });
    }
    return { entries, next: this.u32(offset + 2 + count * 12) };
  }

  /** The entry's values as numbers (integers; rationals as their quotient). */
  values(entry: Entry | undefined, max = Infinity): number[] {
    if (!entry) return [];
    if (entry.count > max) throw bad(`a tag holds ${entry.count} values; at most ${max} expected.`);
    const out: number[] = [];
    for (let i = 0; i < entry.count; i += 1) {
      switch (entry.type) {
        case 1:
        case 7:
          out.push(this.bytes[entry.at + i] ?? 0);
          break;
        case 3:
          out.push(this.u16(entry.at + 2 * i));
          break;
        case 4:
          out.push(this.u32(entry.at + 4 * i));
          break;
        case 5: {
          const den = this.u32(entry.at + 8 * i + 4);
          out.push(den ? this.u32(entry.at + 8 * i) / den : NaN);
          break;
        }
        default:
          throw bad(`a tag has value type ${entry.type} where an integer was expected.`);
      }
    }
    return out;
  }
}

// Tags (TIFF 6.0).
const T = {
  width: 256, height: 257, bits: 258, compression: 259, photometric: 262, stripOffsets: 273, samples: 277, rowsPerStrip: 278,
  stripByteCounts: 279, xRes: 282, yRes: 283, planar: 284, resUnit: 296, predictor: 317, tileWidth: 322, tileLength: 323,
  tileOffsets: 324, tileByteCounts: 325, sampleFormat: 339,
} as const;

const COMPRESSION: Record<number, string> = { 1: 'none', 5: 'LZW', 8: 'Deflate', 32946: 'Deflate', 32773: 'PackBits' };

function one(file: TiffFile, entries: Map<number, Entry>, tag: number, fallback?: number): number {
  const v = file.values(entries.get(tag), 64)[0];
  if (v === undefined) {
    if (fallback === undefined) throw bad(`a required tag (${tag}) is missing.`);
    return fallback;
  }
  return v;
}

function spacingOf(file: TiffFile, entries: Map<number, Entry>): Pick<PlainPage, 'pixelSpacingMm' | 'pixelSpacingSource'> {
  const unit = one(file, entries, T.resUnit, 2);
  const x = file.values(entries.get(T.xRes), 1)[0];
  const y = file.values(entries.get(T.yRes), 1)[0];
  const mmPerUnit = unit === 2 ? 25.4 : unit === 3 ? 10 : 0;
  // Resolution without a unit (ResolutionUnit 1) is an aspect ratio, not a size: unknown.
  if (!mmPerUnit || !x || !y || !Number.isFinite(x) || !Number.isFinite(y) || x <= 0 || y <= 0) return { pixelSpacingMm: null, pixelSpacingSource: 'unknown' };
  return { pixelSpacingMm: [mmPerUnit / y, mmPerUnit / x], pixelSpacingSource: `TIFF XResolution/YResolution per ${unit === 2 ? 'inch' : 'centimetre'}` };
}

function decompress(compression: number, data: Uint8Array, expected: number): Uint8Array {
  switch (compression) {
    case 1:
      return data;
    case 32773:
      return decodePackBits(data, expected);
    case 5:
      return decodeTiffLzw(data, expected);
    case 8:
    case 32946:
      try {
        // Sync flush: a cut-off chunk inflates to what it holds, and the length check names it truncated.
        return inflateSync(data, { maxOutputLength: Math.max(1, expected), finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bad(`a Deflate chunk inflates to more than the ${expected} bytes its size allows.`);
        throw bad(`a Deflate chunk cannot be inflated (${(e as Error).message}).`, 'truncated');
      }
    default:
      throw bad(`compression ${compression} is not supported (none, PackBits, LZW and Deflate are).`, 'unsupported-transfer-syntax');
  }
}

/** Undoes the horizontal predictor on one decoded chunk row by row (samples of `bytesPerSample` bytes, file byte order). */
function undoPredictor(chunk: Uint8Array, rowSamples: number, rows: number, stride: number, bytesPerSample: number, little: boolean): void {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let r = 0; r < rows; r += 1) {
    const base = r * rowSamples * bytesPerSample;
    if (base + rowSamples * bytesPerSample > chunk.length) return;
    for (let i = stride; i < rowSamples; i += 1) {
      if (bytesPerSample === 1) chunk[base + i] = ((chunk[base + i] ?? 0) + (chunk[base + i - stride] ?? 0)) & 0xff;
      else {
        const at = base + 2 * i;
        view.setUint16(at, (view.getUint16(at, little) + view.getUint16(at - 2 * stride, little)) & 0xffff, little);
      }
    }
  }
}

function readPage(file: TiffFile, entries: Map<number, Entry>, index: number, budgetUsed: number): PlainPage {
  const where = index ? `page ${index + 1}: ` : '';
  const width = one(file, entries, T.width);
  const height = one(file, entries, T.height);
  const spp = one(file, entries, T.samples, 1);
  const bitsList = file.values(entries.get(T.bits), 16);
  const bits = bitsList[0] ?? 1;
  const compression = one(file, entries, T.compression, 1);
  const photometric = one(file, entries, T.photometric, spp >= 3 ? 2 : 1);
  const planar = one(file, entries, T.planar, 1);
  const predictor = one(file, entries, T.predictor, 1);
  const sampleFormat = file.values(entries.get(T.sampleFormat), 16)[0] ?? 1;
  if (bitsList.some((b) => b !== bits) || (bits !== 8 && bits !== 16)) throw bad(`${where}${bitsList.join('/')} bits per sample; 8 or 16 are supported.`, 'unsupported-transfer-syntax');
  if (sampleFormat !== 1) throw bad(`${where}sample format ${sampleFormat} (signed or floating point) is not supported; unsigned integers are.`, 'unsupported-transfer-syntax');
  const grey = photometric === 0 || photometric === 1;
  if (!(grey && spp >= 1 && spp <= 2) && !(photometric === 2 && spp >= 3 && spp <= 4)) {
    throw bad(`${where}photometric ${photometric} with ${spp} samples per pixel is not supported (grey or RGB, optionally with alpha).`, 'unsupported-transfer-syntax');
  }
  if (predictor !== 1 && predictor !== 2) throw bad(`${where}predictor ${predictor} is not supported.`, 'unsupported-transfer-syntax');
  if (!COMPRESSION[compression]) throw bad(`${where}compression ${compression} is not supported (none, PackBits, LZW and Deflate are).`, 'unsupported-transfer-syntax');
  const bytesPerSample = bits / 8;
  const keep: 1 | 3 = grey ? 1 : 3;
  // The page's decoded size, plus the chunk being decoded, against the budget: before any allocation.
  checkDeclaredSize('TIFF', width, height, spp * bytesPerSample, budgetUsed);

  const tiled = entries.has(T.tileWidth);
  const chunkW = tiled ? one(file, entries, T.tileWidth) : width;
  const chunkH = tiled ? one(file, entries, T.tileLength) : Math.min(height, one(file, entries, T.rowsPerStrip, height) || height);
  if (chunkW < 1 || chunkH < 1) throw bad(`${where}tile or strip size ${chunkW}x${chunkH}.`);
  const across = Math.ceil(width / chunkW);
  const down = Math.ceil(height / chunkH);
  const planes = planar === 2 ? spp : 1;
  const chunkCount = across * down * planes;
  const offsets = file.values(entries.get(tiled ? T.tileOffsets : T.stripOffsets), chunkCount);
  const counts = file.values(entries.get(tiled ? T.tileByteCounts : T.stripByteCounts), chunkCount);
  if (offsets.length !== chunkCount || counts.length !== chunkCount) {
    throw bad(`${where}${offsets.length} ${tiled ? 'tile' : 'strip'} offsets and ${counts.length} byte counts; ${chunkCount} expected for ${width}x${height}.`);
  }
  const samplesPerChunkPixel = planes === 1 ? spp : 1;
  // Chunk pixels are bounded too: a tile may be declared far larger than the image.
  checkDeclaredSize('TIFF', chunkW, chunkH, samplesPerChunkPixel * bytesPerSample, budgetUsed + width * height * spp * bytesPerSample);
  const chunkBytes = chunkW * chunkH * samplesPerChunkPixel * bytesPerSample;
  const full = bytesPerSample === 1 ? new Uint8Array(width * height * spp) : new Uint16Array(width * height * spp);

  for (let c = 0; c < chunkCount; c += 1) {
    const plane = Math.floor(c / (across * down));
    const within = c % (across * down);
    const cx = (within % across) * chunkW;
    const cy = Math.floor(within / across) * chunkH;
    const off = offsets[c] ?? 0;
    const len = counts[c] ?? 0;
    if (off + len > file.bytes.length) throw bad(`${where}${tiled ? 'tile' : 'strip'} ${c + 1} (${len} bytes at ${off}) lies past the end of the file.`, 'truncated');
    // Strips at the bottom may be short; a tile is always whole.
    const rowsHere = tiled ? chunkH : Math.min(chunkH, height - cy);
    const expected = tiled ? chunkBytes : chunkW * rowsHere * samplesPerChunkPixel * bytesPerSample;
    const chunk = decompress(compression, file.bytes.subarray(off, off + len), expected);
    if (chunk.length < expected) throw bad(`${where}${tiled ? 'tile' : 'strip'} ${c + 1} decodes to ${chunk.length} of ${expected} bytes.`, 'truncated');
    const rowSamples = chunkW * samplesPerChunkPixel;
    if (predictor === 2) undoPredictor(chunk, rowSamples, rowsHere, samplesPerChunkPixel, bytesPerSample, file.little);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const rows = Math.min(rowsHere, height - cy);
    const cols = Math.min(chunkW, width - cx);
    if (planes === 1 && bytesPerSample === 1) {
      // Chunky 8-bit: whole rows at once.
      for (let r = 0; r < rows; r += 1) full.set(chunk.subarray(r * rowSamples, r * rowSamples + cols * spp), ((cy + r) * width + cx) * spp);
      continue;
    }
    for (let r = 0; r < rows; r += 1) {
      for (let x = 0; x < cols; x += 1) {
        for (let s = 0; s < samplesPerChunkPixel; s += 1) {
          const src = (r * chunkW + x) * samplesPerChunkPixel + s;
          const dst = ((cy + r) * width + cx + x) * spp + (planes === 1 ? s : plane);
          full[dst] = bytesPerSample === 1 ? (chunk[src] ?? 0) : view.getUint16(src * 2, file.little);
        }
      }
    }
  }
  const pixels = full instanceof Uint8Array ? dropExtraSamples(full, width * height, spp, keep, (n) => new Uint8Array(n)) : dropExtraSamples(full, width * height, spp, keep, (n) => new Uint16Array(n));
  return { width, height, samplesPerPixel: keep, bitsPerSample: bits as 8 | 16, whiteIsZero: photometric === 0, pixels, ...spacingOf(file, entries) };
}

/** Reads every page of a TIFF; pages of another size or layout than the first are left out and named in `notes`. */
export function readTiff(bytes: Uint8Array): PlainImage {
  const file = new TiffFile(bytes);
  const pages: PlainPage[] = [];
  const notes: string[] = [];
  const seen = new Set<number>();
  let offset = file.u32(4);
  let used = 0;
  let index = 0;
  while (offset !== 0) {
    if (seen.has(offset)) throw bad('the page directories form a loop.');
    if (index >= PLAIN_IMAGE_MAX_PAGES) throw bad(`more than ${PLAIN_IMAGE_MAX_PAGES} pages.`, 'too-large');
    seen.add(offset);
    const { entries, next } = file.readIfd(offset);
    const page = readPage(file, entries, index, used);
    const first = pages[0];
    if (first && (page.width !== first.width || page.height !== first.height || page.samplesPerPixel !== first.samplesPerPixel || page.bitsPerSample !== first.bitsPerSample)) {
      notes.push(`page ${index + 1} (${page.width}x${page.height}, ${page.samplesPerPixel === 3 ? 'RGB' : 'grey'} ${page.bitsPerSample}-bit) differs from page 1 and was left out`);
    } else {
      pages.push(page);
      used += page.pixels.byteLength;
    }
    offset = next;
    index += 1;
  }
  if (!pages.length) throw bad('the file holds no page.');
  return { format: 'TIFF', pages, notes };
}
