/**
 * Binary framing for the loopback bridge: a JSON header plus the raw bytes of every typed array in the
 * message, so pixel data crosses as bytes, never as JSON numbers. Electron IPC does not need this (it uses
 * structured clone); the bridge does, and both must deliver the same values.
 *
 * Frame: u32 LE header length | header UTF-8 JSON {m: message, b: byte lengths} | buffers, each 8-aligned.
 */

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;
type AnyTypedArray = InstanceType<(typeof TYPED_ARRAYS)[TypedArrayName]>;

const REF_KEY = '$typedArray';
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export class FrameError extends Error {
  override name = 'FrameError';
}

function typedArrayName(value: unknown): TypedArrayName | null {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return null;
  for (const [name, ctor] of Object.entries(TYPED_ARRAYS)) {
    if (value.constructor === ctor) return name as TypedArrayName;
  }
  return null;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeFrame(message: unknown): Uint8Array {
  const buffers: AnyTypedArray[] = [];
  const m: unknown = JSON.parse(
    JSON.stringify(message ?? null, (_key, value: unknown) => {
      const name = typedArrayName(value);
      if (!name) return value;
      buffers.push(value as AnyTypedArray);
      return { [REF_KEY]: name, index: buffers.length - 1 };
    }) ?? 'null',
  );
  const headerBytes = new TextEncoder().encode(JSON.stringify({ m, b: buffers.map((b) => b.byteLength) }));
  let size = align8(4 + headerBytes.byteLength);
  const offsets = buffers.map((b) => {
    const at = size;
    size = align8(size + b.byteLength);
    return at;
  });
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, headerBytes.byteLength, true);
  out.set(headerBytes, 4);
  buffers.forEach((b, i) => out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), offsets[i] ?? 0));
  return out;
}

export function decodeFrame(frame: Uint8Array): unknown {
  if (frame.byteLength < 4) throw new FrameError('frame shorter than its header length');
  if (frame.byteLength > MAX_FRAME_BYTES) throw new FrameError('frame larger than the bridge accepts');
  const headerLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (4 + headerLength > frame.byteLength) throw new FrameError('header length exceeds the frame');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(4, 4 + headerLength)));
  } catch {
    throw new FrameError('header is not valid UTF-8 JSON');
  }
  if (!header || typeof header !== 'object' || !('m' in header) || !('b' in header) || !Array.isArray(header.b)) {
    throw new FrameError('header lacks the message or the buffer table');
  }
  const lengths = header.b as unknown[];
  let cursor = align8(4 + headerLength);
  const slices: Uint8Array[] = lengths.map((len) => {
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || cursor + len > frame.byteLength) {
      throw new FrameError('buffer table does not match the frame');
    }
    const slice = frame.slice(cursor, cursor + len); // a copy: aligned, and owned by the receiver
    cursor = align8(cursor + len);
    return slice;
  });
  const revive = (value: unknown, depth: number): unknown => {
    if (depth > 5000) throw new FrameError('message nested too deeply');
    if (Array.isArray(value)) return value.map((v) => revive(v, depth + 1));
    if (!value || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    if (REF_KEY in record) {
      const name = record[REF_KEY];
      const index = record.index;
      if (typeof name !== 'string' || !(name in TYPED_ARRAYS) || typeof index !== 'number') {
        throw new FrameError('bad typed-array reference');
      }
      const bytes = slices[index];
      const ctor = TYPED_ARRAYS[name as TypedArrayName];
      if (!bytes || bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw new FrameError('typed-array length mismatch');
      return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) out[k] = revive(v, depth + 1);
    return out;
  };
  return revive(header.m, 0);
}
