/**
 * Compressed pixel data codecs: WASM builds of libjpeg-turbo, CharLS, OpenJPEG and OpenJPH from the
 * @cornerstonejs/codec-* packages, jpeg-lossless-decoder-js for JPEG lossless (process 14), and DICOM RLE
 * (PS3.5 Annex G, a PackBits variant small enough to implement here; no maintained stand-alone package).
 * `loadCodecs()` must have resolved before a decode call; decoding itself is synchronous.
 */
import { createRequire } from 'node:module';
import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';

const require = createRequire(import.meta.url);

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete?(): void;
}
type DecoderCtor = new () => WasmDecoder;
type ModuleFactory = (options?: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface DecodedCodecFrame {
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  signed: boolean | null;
  /** Little-endian samples, interleaved (RGB for colour), 1 or 2 bytes each. */
  bytes: Uint8Array;
}

export class CodecError extends Error {
  override name = 'CodecError';
}

export type CodecName = 'jpeg' | 'jpegls' | 'j2k' | 'htj2k';

/** A WASM codec was needed before it was loaded: await ensureCodec(codec) and decode again. */
export class CodecNotLoadedError extends Error {
  override name = 'CodecNotLoadedError';
  constructor(readonly codec: CodecName) {
    super(`codec ${codec} not loaded: await ensureCodec('${codec}') first`);
  }
}

const MODULES: Record<CodecName, [string, string]> = {
  jpeg: ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'],
  jpegls: ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'],
  j2k: ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'],
  htj2k: ['@cornerstonejs/codec-openjph/wasmjs', 'HTJ2KDecoder'],
};
const codecs = new Map<CodecName, DecoderCtor>();
const loadingCodec = new Map<CodecName, Promise<void>>();

async function loadCtor(modulePath: string, name: string): Promise<DecoderCtor> {
  const factory = require(modulePath) as ModuleFactory;
  // Quiet the emscripten runtime: codec complaints become thrown errors, not console noise.
  const mod = await factory({ print: () => {}, printErr: () => {} });
  const ctor = mod[name];
  if (typeof ctor !== 'function') throw new Error(`codec ${modulePath} has no ${name}`);
  return ctor as DecoderCtor;
}

/** Loads one WASM codec (compiling one costs ~50-100 ms, so each is loaded when first needed). */
export function ensureCodec(name: CodecName): Promise<void> {
  let p = loadingCodec.get(name);
  if (!p) {
    const [modulePath, ctorName] = MODULES[name];
    p = loadCtor(modulePath, ctorName).then((ctor) => void codecs.set(name, ctor));
    loadingCodec.set(name, p);
  }
  return p;
}

/** Loads every codec (the probe, tests and benchmarks). */
export async function loadCodecs(): Promise<void> {
  await Promise.all((Object.keys(MODULES) as CodecName[]).map(ensureCodec));
}

function loaded(name: CodecName): DecoderCtor {
  const ctor = codecs.get(name);
  if (!ctor) throw new CodecNotLoadedError(name);
  return ctor;
}

/** One decoder per codec, reused: constructing a WASM decoder costs more than decoding a small frame. */
const instances = new Map<DecoderCtor, WasmDecoder>();

function runWasm(Ctor: DecoderCtor, data: Uint8Array, what: string): DecodedCodecFrame {
  let decoder = instances.get(Ctor);
  if (!decoder) {
    decoder = new Ctor();
    instances.set(Ctor, decoder);
  }
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    try {
      decoder.decode();
    } catch (e) {
      throw new CodecError(`${what} decoder rejected the data: ${describeWasmError(e)}`);
    }
    const info = decoder.getFrameInfo();
    const decoded = decoder.getDecodedBuffer();
    return {
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bitsPerSample: info.bitsPerSample,
      signed: typeof info.isSigned === 'boolean' ? info.isSigned : null,
      bytes: decoded.slice(), // copy out of WASM memory before the next decode reuses it
    };
  } catch (e) {
    // A decoder that failed may be in any state: drop it, the next frame gets a fresh one.
    instances.delete(Ctor);
    try {
      decoder.delete?.();
    } catch {
      // already unusable
    }
    throw e;
  }
}

function describeWasmError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'number') return `codec error (code ${e})`;
  return String(e).slice(0, 200);
}

export function decodeJpegBaseline(data: Uint8Array): DecodedCodecFrame {
  return runWasm(loaded('jpeg'), data, 'JPEG');
}

export function decodeJpegLs(data: Uint8Array): DecodedCodecFrame {
  return runWasm(loaded('jpegls'), data, 'JPEG-LS');
}

export function decodeJpeg2000(data: Uint8Array): DecodedCodecFrame {
  return runWasm(loaded('j2k'), data, 'JPEG 2000');
}

export function decodeHtj2k(data: Uint8Array): DecodedCodecFrame {
  return runWasm(loaded('htj2k'), data, 'HTJ2K');
}

/** JPEG lossless (processes 14 and 14 SV1), 2..16 bits, 1 or 3 components. */
export function decodeJpegLossless(data: Uint8Array, bitsAllocated: number): DecodedCodecFrame {
  const decoder = new JpegLosslessDecoder();
  let out: Uint8Array | Uint16Array;
  try {
    const copy = new Uint8Array(data); // a copy (Buffer.slice would be a view)
    out = decoder.decode(copy.buffer, 0, copy.byteLength, bitsAllocated <= 8 ? 1 : 2);
  } catch (e) {
    throw new CodecError(`JPEG lossless decoder rejected the data: ${describeWasmError(e)}`);
  }
  const internal = decoder as unknown as { xDim?: number; yDim?: number; numComp?: number; precision?: number };
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  return {
    width: internal.xDim ?? 0,
    height: internal.yDim ?? 0,
    components: internal.numComp ?? 1,
    bitsPerSample: internal.precision ?? bitsAllocated,
    signed: null,
    bytes: out instanceof Uint16Array ? new Uint8Array(bytes) : bytes.slice(),
  };
}

/**
 * DICOM RLE (PS3.5 G.3): a 64-byte header with up to 15 segment offsets, one segment per byte plane
 * (most significant byte first, per sample). Returns the frame as little-endian interleaved samples.
 */
export function decodeRle(data: Uint8Array, rows: number, columns: number, samples: number, bitsAllocated: number): Uint8Array {
  if (data.length < 64) throw new CodecError('RLE frame is shorter than its 64-byte header');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (!Number.isInteger(bytesPerSample) || bytesPerSample < 1 || bytesPerSample > 4) {
    throw new CodecError(`RLE with ${bitsAllocated} bits allocated is not supported`);
  }
  const expected = samples * bytesPerSample;
  if (segments !== expected) throw new CodecError(`RLE header names ${segments} segments; ${expected} expected for this image`);
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s += 1) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.length;
    if (start < 64 || start > data.length || end < start || end > data.length) {
      throw new CodecError(`RLE segment ${s + 1} has an offset outside the frame`);
    }
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments are MSB first; output is LE
    const stride = expected;
    let o = sample * bytesPerSample + byteInSample;
    let written = 0;
    let p = start;
    while (p < end && written < pixels) {
      const n = data[p++] ?? 0;
      const count = n > 127 ? n - 256 : n;
      if (count >= 0) {
        const len = count + 1;
        for (let i = 0; i < len && written < pixels && p < end; i += 1) {
          out[o] = data[p++] ?? 0;
          o += stride;
          written += 1;
        }
      } else if (count > -128) {
        const len = 1 - count;
        const value = data[p++] ?? 0;
        for (let i = 0; i < len && written < pixels; i += 1) {
          out[o] = value;
          o += stride;
          written += 1;
        }
      }
    }
    if (written < pixels) throw new CodecError(`RLE segment ${s + 1} decodes to ${written} of ${pixels} bytes`);
  }
  return out;
}
