/**
 * Pixel decoding for one frame: native (little/big endian, 1/8/16/32-bit, planar or interleaved),
 * RLE and the compressed syntaxes through codecs.ts; colour to interleaved RGB (YBR_FULL, YBR_FULL_422,
 * YBR_ICT/RCT via the J2K codec, palette colour); monochrome kept as stored values (see the pixel rules in
 * src-shared/contracts/dicom.ts).
 */
import { dicomParser } from './dicom-parser-lib';
import type { PixelArray } from '../../src-shared/contracts/dicom';
import {
  CodecError,
  CodecNotLoadedError,
  decodeHtj2k,
  decodeJpeg2000,
  decodeJpegBaseline,
  decodeJpegLossless,
  decodeJpegLs,
  decodeRle,
  type DecodedCodecFrame,
} from './codecs';
import { DicomFileError, MAX_FRAMES, type InstanceMeta, type ParsedFile } from './parse';

export interface DecodedFrame {
  pixels: PixelArray;
  /** True when pixels are interleaved RGB. */
  color: boolean;
  /** True when the modality LUT is already applied (32-bit and float data). */
  modalityApplied: boolean;
  min: number;
  max: number;
}

/** Largest frame we decode (guards allocation against lying headers): 16k x 16k x 4 samples x 4 bytes. */
const MAX_FRAME_SAMPLES = 16384 * 16384;

export function checkImageAttributes(meta: InstanceMeta): void {
  const missing: string[] = [];
  if (!(meta.rows > 0)) missing.push('Rows (0028,0010)');
  if (!(meta.columns > 0)) missing.push('Columns (0028,0011)');
  if (!(meta.bitsAllocated > 0) && !meta.floatPixels) missing.push('Bits Allocated (0028,0100)');
  if (missing.length) throw new DicomFileError('missing-attribute', `Pixel data present but ${missing.join(', ')} missing or zero.`);
  if (![1, 8, 16, 32, 64].includes(meta.bitsAllocated) && !meta.floatPixels) {
    throw new DicomFileError('unsupported-transfer-syntax', `Bits Allocated ${meta.bitsAllocated} is not supported.`);
  }
  if (![1, 3].includes(meta.samplesPerPixel)) {
    throw new DicomFileError('unsupported-transfer-syntax', `Samples per Pixel ${meta.samplesPerPixel} is not supported.`);
  }
  if (meta.rows * meta.columns * meta.samplesPerPixel > MAX_FRAME_SAMPLES) {
    throw new DicomFileError('unsupported-transfer-syntax', `A ${meta.columns}x${meta.rows} frame is larger than this viewer decodes.`);
  }
  if (meta.bitsStored > meta.bitsAllocated || meta.bitsStored < 1) {
    meta.bitsStored = meta.bitsAllocated; // a lying Bits Stored: trust Bits Allocated
  }
}

/** Bytes of one native frame as stored (YBR_FULL_422 is subsampled 2:1 horizontally). */
export function nativeFrameBytes(meta: InstanceMeta): number {
  const pixels = meta.rows * meta.columns;
  if (meta.bitsAllocated === 1) return Math.ceil((pixels * meta.samplesPerPixel) / 8);
  const bytesPerSample = meta.bitsAllocated / 8;
  if (meta.photometric === 'YBR_FULL_422' && meta.samplesPerPixel === 3) return pixels * 2 * bytesPerSample;
  return pixels * meta.samplesPerPixel * bytesPerSample;
}

function encapsulatedFrame(parsed: ParsedFile, frameIndex: number): Uint8Array {
  const { dataSet, pixelElement, meta } = parsed;
  if (!pixelElement?.encapsulatedPixelData || !pixelElement.fragments) {
    throw new DicomFileError('decode-failed', 'The transfer syntax is compressed but the pixel data is not encapsulated.');
  }
  const fragments = pixelElement.fragments;
  if (fragments.length === 0) throw new DicomFileError('wrong-pixel-length', 'The encapsulated pixel data holds no fragments.');
  if (meta.frames > fragments.length) {
    // A fragment holds at most one frame (PS3.5 A.4).
    throw new DicomFileError('wrong-pixel-length', `Number of Frames (0028,0008) is ${meta.frames} but the pixel data holds only ${fragments.length} fragment(s), at least one per frame.`);
  }
  for (const f of fragments) {
    if (f.position + f.length > dataSet.byteArray.length) {
      throw new DicomFileError('truncated', 'A pixel data fragment runs past the end of the file (truncated file).');
    }
  }
  try {
    const bot = pixelElement.basicOffsetTable ?? [];
    if (bot.length > 0) {
      if (frameIndex >= bot.length) throw new DicomFileError('wrong-pixel-length', `Frame ${frameIndex + 1} is not in the offset table.`);
      return dicomParser.readEncapsulatedImageFrame(dataSet, pixelElement, frameIndex) as Uint8Array;
    }
    if (meta.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelElement, 0, fragments.length) as Uint8Array;
    if (fragments.length === meta.frames) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelElement, frameIndex, 1) as Uint8Array;
    if (parsed.ts.encoding === 'jpeg-baseline' || parsed.ts.encoding === 'jpeg-lossless') {
      const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelElement);
      if (frameIndex >= table.length) throw new DicomFileError('wrong-pixel-length', `Frame ${frameIndex + 1} is missing from the pixel data.`);
      return dicomParser.readEncapsulatedImageFrame(dataSet, pixelElement, frameIndex, table) as Uint8Array;
    }
    throw new DicomFileError('wrong-pixel-length', `${meta.frames} frames but ${fragments.length} fragments and no offset table: frames cannot be located.`);
  } catch (e) {
    if (e instanceof DicomFileError) throw e;
    throw new DicomFileError('decode-failed', `Cannot locate frame ${frameIndex + 1} in the pixel data: ${String(e instanceof Error ? e.message : e)}`);
  }
}

/** Bits of precision declared in a JPEG SOF marker, or null when none is found. */
function jpegPrecision(data: Uint8Array): number | null {
  for (let i = 2; i + 4 < data.length; ) {
    if (data[i] !== 0xff) return null;
    const marker = data[i + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return data[i + 4] ?? null;
    const len = ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0);
    i += 2 + len;
  }
  return null;
}

/**
 * A 3-component JPEG labelled RGB with no JFIF/Adobe marker and no chroma subsampling was most likely
 * compressed without a colour transform, but libjpeg assumes YCbCr unless the component ids spell
 * 'R','G','B'. Returns a copy with those ids (SOF and SOS) so the decoder skips the transform, or null
 * when the data should be decoded as is. (pydicom applies the same rule through Pillow.)
 */
export function jpegAsUntransformedRgb(data: Uint8Array): Uint8Array | null {
  let sof = -1;
  const sos: number[] = [];
  for (let i = 2; i + 4 < data.length; ) {
    if (data[i] !== 0xff) break;
    const marker = data[i + 1] ?? 0;
    const len = ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0);
    // JFIF, or a well-formed Adobe marker: the decoder knows the colour space. (A short Adobe marker is
    // ignored by libjpeg, so the heuristic below still applies.)
    if (marker === 0xe0 || (marker === 0xee && len >= 14)) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) sof = i;
    if (marker === 0xda) {
      sos.push(i);
      break;
    }
    i += 2 + len;
  }
  if (sof < 0 || sos.length === 0 || data[sof + 9] !== 3) return null;
  for (let k = 0; k < 3; k += 1) if (data[sof + 11 + 3 * k] !== 0x11) return null; // subsampled: really YCbCr
  const copy = new Uint8Array(data); // a copy (Buffer.slice would be a view)
  const rgb = [0x52, 0x47, 0x42];
  const ids = [0, 1, 2].map((k) => copy[sof + 10 + 3 * k] ?? 0);
  for (let k = 0; k < 3; k += 1) copy[sof + 10 + 3 * k] = rgb[k] ?? 0;
  for (let i = sos[0] ?? 0; i + 5 < copy.length; i += 1) {
    if (copy[i] !== 0xff || copy[i + 1] !== 0xda) continue;
    const n = copy[i + 4] ?? 0;
    for (let k = 0; k < n && k < 3; k += 1) {
      const at = i + 5 + 2 * k;
      const idx = ids.indexOf(copy[at] ?? -1);
      if (idx >= 0) copy[at] = rgb[idx] ?? 0;
    }
  }
  return copy;
}

function checkCodecGeometry(meta: InstanceMeta, f: DecodedCodecFrame, what: string): void {
  if (f.width !== meta.columns || f.height !== meta.rows) {
    throw new DicomFileError('decode-failed', `${what} frame is ${f.width}x${f.height} but the header says ${meta.columns}x${meta.rows}.`);
  }
  const bytesPerSample = f.bitsPerSample > 8 ? 2 : 1;
  if (f.bytes.length < meta.rows * meta.columns * f.components * bytesPerSample) {
    throw new DicomFileError('decode-failed', `${what} decoder returned too few bytes.`);
  }
}

function fromCodec(meta: InstanceMeta, f: DecodedCodecFrame, what: string): { bytes: Uint8Array; bytesPerSample: number; components: number; signed: boolean | null } {
  checkCodecGeometry(meta, f, what);
  return { bytes: f.bytes, bytesPerSample: f.bitsPerSample > 8 ? 2 : 1, components: f.components, signed: f.signed };
}

function runCodec<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DicomFileError || e instanceof CodecNotLoadedError) throw e;
    if (e instanceof CodecError) throw new DicomFileError('decode-failed', e.message);
    throw new DicomFileError('decode-failed', `${what} decoding failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Little-endian sample bytes of one frame after decompression, plus how to read them. */
interface RawFrame {
  bytes: Uint8Array;
  bytesPerSample: number;
  components: number;
  /** Signedness reported by the codec (J2K); null = use Pixel Representation. */
  signed: boolean | null;
  /** 'rgb' = already colour-converted by the codec; 'planar' = planar configuration 1 still to undo. */
  layout: 'interleaved' | 'planar' | 'ybr422' | 'bits';
  colourConverted: boolean;
}

function nativeRawFrame(parsed: ParsedFile, frameIndex: number): RawFrame {
  const { meta, dataSet, pixelElement, ts } = parsed;
  const floatEl = dataSet.elements.x7fe00008 ?? dataSet.elements.x7fe00009;
  const el = pixelElement ?? floatEl;
  if (!el) throw new DicomFileError('no-pixel-data', 'The file holds no pixel data.');
  const bytesPerSample = meta.floatPixels === 'double' ? 8 : meta.floatPixels === 'float' ? 4 : Math.max(1, meta.bitsAllocated / 8);
  const frameBytes = meta.floatPixels ? meta.rows * meta.columns * bytesPerSample : nativeFrameBytes(meta);
  const totalNeeded = meta.bitsAllocated === 1 && !meta.floatPixels ? Math.ceil((meta.rows * meta.columns * meta.frames) / 8) : frameBytes * meta.frames;
  const available = Math.min(el.length, dataSet.byteArray.length - el.dataOffset);
  if (el.dataOffset + el.length > dataSet.byteArray.length) {
    throw new DicomFileError('truncated', `The pixel data runs past the end of the file (${available} of ${el.length} bytes present): the file is truncated.`);
  }
  if (available < totalNeeded) {
    throw new DicomFileError(
      'wrong-pixel-length',
      `The pixel data is ${available} bytes but ${meta.frames} frame(s) of ${meta.columns}x${meta.rows}x${meta.samplesPerPixel} at ${meta.bitsAllocated} bits need ${totalNeeded} bytes.`,
    );
  }
  if (meta.bitsAllocated === 1 && !meta.floatPixels) {
    const bitOffset = frameIndex * meta.rows * meta.columns;
    const n = meta.rows * meta.columns;
    const out = new Uint8Array(n);
    const arr = dataSet.byteArray;
    for (let i = 0; i < n; i += 1) {
      const b = bitOffset + i;
      out[i] = ((arr[el.dataOffset + (b >> 3)] ?? 0) >> (b & 7)) & 1;
    }
    return { bytes: out, bytesPerSample: 1, components: 1, signed: false, layout: 'bits', colourConverted: false };
  }
  const start = el.dataOffset + frameIndex * frameBytes;
  let bytes = dataSet.byteArray.subarray(start, start + frameBytes) as Uint8Array;
  // OW pixel data in big endian is a stream of 16-bit words even for 8-bit samples.
  const swapUnit = ts.bigEndian ? (bytesPerSample > 1 ? bytesPerSample : el.vr === 'OW' ? 2 : 1) : 1;
  if (swapUnit > 1) {
    const swapped = new Uint8Array(bytes.length);
    for (let i = 0; i + swapUnit <= bytes.length; i += swapUnit) {
      for (let k = 0; k < swapUnit; k += 1) swapped[i + k] = bytes[i + swapUnit - 1 - k] ?? 0;
    }
    bytes = swapped;
  }
  const layout = meta.samplesPerPixel === 3 ? (meta.photometric === 'YBR_FULL_422' ? 'ybr422' : meta.planarConfiguration === 1 ? 'planar' : 'interleaved') : 'interleaved';
  return { bytes, bytesPerSample, components: meta.samplesPerPixel, signed: null, layout, colourConverted: false };
}

function compressedRawFrame(parsed: ParsedFile, frameIndex: number): RawFrame {
  const { meta, ts } = parsed;
  const data = encapsulatedFrame(parsed, frameIndex);
  const base = { layout: 'interleaved' as const, colourConverted: false };
  switch (ts.encoding) {
    case 'encapsulated-native': {
      const needed = nativeFrameBytes(meta);
      if (data.length < needed) throw new DicomFileError('wrong-pixel-length', `Frame ${frameIndex + 1} is ${data.length} bytes; ${needed} needed.`);
      const layout = meta.samplesPerPixel === 3 && meta.planarConfiguration === 1 ? 'planar' : 'interleaved';
      return { bytes: data, bytesPerSample: Math.max(1, meta.bitsAllocated / 8), components: meta.samplesPerPixel, signed: null, layout, colourConverted: false };
    }
    case 'rle': {
      const bytes = runCodec('RLE', () => decodeRle(data, meta.rows, meta.columns, meta.samplesPerPixel, meta.bitsAllocated));
      return { ...base, bytes, bytesPerSample: meta.bitsAllocated / 8, components: meta.samplesPerPixel, signed: null };
    }
    case 'jpeg-baseline': {
      const precision = jpegPrecision(data);
      if (precision !== null && precision > 8) {
        throw new DicomFileError(
          'unsupported-transfer-syntax',
          `JPEG Extended with ${precision}-bit samples is not supported (the JPEG codec here decodes 8-bit JPEG only).`,
        );
      }
      const untransformed = meta.photometric === 'RGB' ? jpegAsUntransformedRgb(data) : null;
      const f = runCodec('JPEG', () => decodeJpegBaseline(untransformed ?? data));
      return { ...base, ...fromCodec(meta, f, 'JPEG'), signed: null, colourConverted: f.components === 3 };
    }
    case 'jpeg-lossless': {
      const f = runCodec('JPEG lossless', () => decodeJpegLossless(data, meta.bitsAllocated));
      return { ...base, ...fromCodec(meta, f, 'JPEG lossless'), signed: null, colourConverted: true };
    }
    case 'jpeg-ls': {
      const f = runCodec('JPEG-LS', () => decodeJpegLs(data));
      return { ...base, ...fromCodec(meta, f, 'JPEG-LS'), signed: null, colourConverted: true };
    }
    case 'jpeg2000': {
      const f = runCodec('JPEG 2000', () => decodeJpeg2000(data));
      return { ...base, ...fromCodec(meta, f, 'JPEG 2000'), colourConverted: true };
    }
    case 'htj2k': {
      const f = runCodec('HTJ2K', () => decodeHtj2k(data));
      return { ...base, ...fromCodec(meta, f, 'HTJ2K'), colourConverted: true };
    }
    default:
      throw new DicomFileError('unsupported-transfer-syntax', `No decoder for ${ts.name}.`);
  }
}

function clip8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** YBR_FULL to RGB with the coefficients of PS3.3 C.7.6.3.1.2 (the same as pydicom's). */
function ybrToRgbInPlace(rgb: Uint8Array): void {
  const kGb = (0.114 * 1.772) / 0.587;
  const kGr = (0.299 * 1.402) / 0.587;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    const y = rgb[i] ?? 0;
    const cb = (rgb[i + 1] ?? 0) - 128;
    const cr = (rgb[i + 2] ?? 0) - 128;
    rgb[i] = clip8(Math.floor(y + 1.402 * cr + 0.5));
    rgb[i + 1] = clip8(Math.floor(y - kGb * cb - kGr * cr + 0.5));
    rgb[i + 2] = clip8(Math.floor(y + 1.772 * cb + 0.5));
  }
}

function readSamples(raw: RawFrame, count: number, signed: boolean): Int32Array | Float64Array {
  const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
  const out = raw.bytesPerSample === 4 || raw.bytesPerSample === 8 ? new Float64Array(count) : new Int32Array(count);
  const bps = raw.bytesPerSample;
  for (let i = 0; i < count; i += 1) {
    const o = i * bps;
    if (bps === 1) out[i] = signed ? view.getInt8(o) : view.getUint8(o);
    else if (bps === 2) out[i] = signed ? view.getInt16(o, true) : view.getUint16(o, true);
    else if (bps === 4) out[i] = signed ? view.getInt32(o, true) : view.getUint32(o, true);
    else out[i] = view.getFloat64(o, true);
  }
  return out;
}

function minMax(a: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i += 1) {
    const v = a[i] ?? 0;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return a.length ? { min, max } : { min: 0, max: 0 };
}

function colourFrame(meta: InstanceMeta, raw: RawFrame): DecodedFrame {
  const n = meta.rows * meta.columns;
  if (raw.components !== 3) throw new DicomFileError('decode-failed', `Colour image decoded to ${raw.components} component(s).`);
  // Interleaved 8-bit RGB (true-colour secondary capture, imported photographs and slides): the bytes
  // are the pixels already; a copy, not a sample-by-sample pass (a 2048² image is 12 MB).
  if (raw.layout === 'interleaved' && raw.bytesPerSample === 1 && meta.photometric === 'RGB' && raw.bytes.length >= n * 3) {
    const pixels = raw.bytes.slice(0, n * 3);
    return { pixels, color: true, modalityApplied: false, ...minMax(pixels) };
  }
  let samples: Int32Array | Float64Array;
  if (raw.layout === 'ybr422') {
    const src = readSamples(raw, n * 2, false);
    samples = new Int32Array(n * 3);
    for (let p = 0; p + 1 < n + 1; p += 2) {
      const s = (p / 2) * 4;
      const cb = src[s + 2] ?? 0;
      const cr = src[s + 3] ?? 0;
      samples.set([src[s] ?? 0, cb, cr], p * 3);
      if (p + 1 < n) samples.set([src[s + 1] ?? 0, cb, cr], (p + 1) * 3);
    }
  } else if (raw.layout === 'planar') {
    const src = readSamples(raw, n * 3, false);
    samples = new Int32Array(n * 3);
    for (let i = 0; i < n; i += 1) {
      samples[i * 3] = src[i] ?? 0;
      samples[i * 3 + 1] = src[n + i] ?? 0;
      samples[i * 3 + 2] = src[2 * n + i] ?? 0;
    }
  } else {
    samples = readSamples(raw, n * 3, false);
  }
  const ybr = meta.photometric === 'YBR_FULL' || meta.photometric === 'YBR_FULL_422';
  let pixels: PixelArray;
  if (raw.bytesPerSample === 1) {
    const rgb = Uint8Array.from(samples);
    if (ybr && !raw.colourConverted) ybrToRgbInPlace(rgb);
    pixels = rgb;
  } else if (raw.bytesPerSample === 2) {
    pixels = Uint16Array.from(samples);
  } else {
    pixels = Float32Array.from(samples);
  }
  return { pixels, color: true, modalityApplied: false, ...minMax(pixels) };
}

function paletteFrame(parsed: ParsedFile, raw: RawFrame): DecodedFrame | null {
  const ds = parsed.dataSet;
  const channels = ['x00281201', 'x00281202', 'x00281203'];
  const descs = ['x00281101', 'x00281102', 'x00281103'];
  if (!channels.every((t) => ds.elements[t]) || !descs.every((t) => ds.elements[t])) return null;
  const n = parsed.meta.rows * parsed.meta.columns;
  const idx = readSamples(raw, n, false);
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c += 1) {
    const entries = (ds.uint16(descs[c]!, 0) ?? 0) || 65536;
    const first = ds.uint16(descs[c]!, 1) ?? 0;
    const bits = ds.uint16(descs[c]!, 2) ?? 16;
    const el = ds.elements[channels[c]!]!;
    const lut = new Uint16Array(entries);
    for (let i = 0; i < entries && i * 2 + 1 < el.length; i += 1) lut[i] = ds.uint16(channels[c]!, i) ?? 0;
    const shift = bits > 8 ? 8 : 0;
    for (let i = 0; i < n; i += 1) {
      const k = Math.min(entries - 1, Math.max(0, (idx[i] ?? 0) - first));
      out[i * 3 + c] = (lut[k] ?? 0) >> shift;
    }
  }
  return { pixels: out, color: true, modalityApplied: false, ...minMax(out) };
}

function monoFrame(meta: InstanceMeta, raw: RawFrame): DecodedFrame {
  const n = meta.rows * meta.columns;
  if (raw.components !== 1) throw new DicomFileError('decode-failed', `Monochrome image decoded to ${raw.components} components.`);
  if (raw.layout === 'bits') {
    const bits = new Uint8Array(raw.bytes);
    return { pixels: bits, color: false, modalityApplied: false, ...minMax(bits) };
  }
  if (meta.floatPixels) {
    const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 1) {
      const v = meta.floatPixels === 'double' ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
      out[i] = v * meta.rescaleSlope + meta.rescaleIntercept;
    }
    return { pixels: out, color: false, modalityApplied: true, ...minMax(out) };
  }
  // Pixel Representation decides signedness (a J2K stream may disagree; DICOM wins, as in pydicom).
  const signed = meta.pixelRepresentation === 1;
  if (raw.bytesPerSample === 4) {
    const s = readSamples(raw, n, signed);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 1) out[i] = (s[i] ?? 0) * meta.rescaleSlope + meta.rescaleIntercept;
    return { pixels: out, color: false, modalityApplied: true, ...minMax(out) };
  }
  const bitsStored = meta.bitsStored;
  if (raw.bytesPerSample === 2 && bitsStored === 16) {
    // Fast path (most CT/MR): the little-endian bytes are the values; one copy, no per-pixel work.
    const owned = new Uint8Array(n * 2);
    owned.set(raw.bytes.subarray(0, n * 2));
    const pixels = signed ? new Int16Array(owned.buffer) : new Uint16Array(owned.buffer);
    return { pixels, color: false, modalityApplied: false, ...minMax(pixels) };
  }
  const s = readSamples(raw, n, false);
  const storedMask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const maskNeeded = bitsStored < raw.bytesPerSample * 8;
  let pixels: PixelArray;
  if (signed) {
    const out = new Int16Array(n);
    const signBit = 1 << (bitsStored - 1);
    for (let i = 0; i < n; i += 1) {
      let v = s[i] ?? 0;
      if (maskNeeded) {
        v &= storedMask;
        v = v & signBit ? v - (1 << bitsStored) : v;
      } else if (raw.bytesPerSample === 1) {
        v = v > 127 ? v - 256 : v;
      } else {
        v = v > 32767 ? v - 65536 : v;
      }
      out[i] = v;
    }
    pixels = out;
  } else if (raw.bytesPerSample === 1) {
    pixels = Uint8Array.from(s);
  } else {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i += 1) out[i] = s[i] ?? 0;
    pixels = out;
  }
  return { pixels, color: false, modalityApplied: false, ...minMax(pixels) };
}

/** Applies a Modality LUT Sequence (values outside the LUT clamp to its ends, as in PS3.3 C.11.1). */
function applyModalityLut(meta: InstanceMeta, frame: DecodedFrame): DecodedFrame {
  const lut = meta.modalityLut;
  if (!lut || frame.color || frame.modalityApplied || lut.data.length === 0) return frame;
  const out = new Uint16Array(frame.pixels.length);
  const last = lut.data.length - 1;
  for (let i = 0; i < out.length; i += 1) {
    const k = Math.min(last, Math.max(0, (frame.pixels[i] ?? 0) - lut.firstValueMapped));
    out[i] = lut.data[k] ?? 0;
  }
  return { pixels: out, color: false, modalityApplied: true, ...minMax(out) };
}

/** Decodes frame `frameIndex` (0-based) of a parsed file. Throws DicomFileError on any bad input. */
export function decodeFrame(parsed: ParsedFile, frameIndex: number): DecodedFrame {
  const { meta } = parsed;
  if (!meta.hasPixels) throw new DicomFileError('no-pixel-data', 'The file holds no pixel data (not an image).');
  checkImageAttributes(meta);
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= meta.frames) {
    throw new DicomFileError('decode-failed', `Frame ${frameIndex + 1} asked for; the file has ${meta.frames}.`);
  }
  const encapsulated = !!parsed.pixelElement?.encapsulatedPixelData;
  const raw = parsed.ts.encoding === 'native' && !encapsulated ? nativeRawFrame(parsed, frameIndex) : compressedRawFrame(parsed, frameIndex);
  // After the length checks above (a count the pixel data cannot hold is reported as such).
  if (meta.frames > MAX_FRAMES) {
    throw new DicomFileError('too-large', `Number of Frames (0028,0008) is ${meta.frames}; files with more than ${MAX_FRAMES} frames are not read.`);
  }
  if (meta.samplesPerPixel === 3) return colourFrame(meta, raw);
  if (meta.photometric === 'PALETTE COLOR') {
    const palette = paletteFrame(parsed, raw);
    if (palette) return palette;
  }
  return applyModalityLut(meta, monoFrame(meta, raw));
}

/** Values after the modality LUT (rescale), for statistics and the probe. */
export function modalityValue(meta: InstanceMeta, frame: DecodedFrame, i: number): number {
  const v = frame.pixels[i] ?? 0;
  return frame.color || frame.modalityApplied ? v : v * meta.rescaleSlope + meta.rescaleIntercept;
}
