import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError } from '../../src-shared/ipc/wire-codec';

describe('bridge wire codec', () => {
  it('carries typed arrays as bytes, bit-exact, inside nested messages', () => {
    const pixels = new Int16Array(512 * 512);
    for (let i = 0; i < pixels.length; i += 1) pixels[i] = ((i * 7919) % 65536) - 32768;
    const floats = new Float32Array([0.5, -1e-7, Number.NaN, Infinity]);
    const message = { t: 'result', id: 7, result: { ok: true, value: { frames: [{ pixels }, { floats }], note: 'é✓' } } };
    const frame = encodeFrame(message);
    // The frame is bytes plus a small header, not a JSON array of numbers.
    expect(frame.byteLength).toBeLessThan(pixels.byteLength + floats.byteLength + 400);
    const back = decodeFrame(frame) as typeof message;
    const gotPixels = back.result.value.frames[0]!.pixels!;
    expect(gotPixels).toBeInstanceOf(Int16Array);
    expect(Buffer.from(gotPixels.buffer).equals(Buffer.from(pixels.buffer))).toBe(true);
    const gotFloats = back.result.value.frames[1]!.floats!;
    expect(Array.from(gotFloats)).toEqual(Array.from(floats));
    expect(back.result.value.note).toBe('é✓');
  });

  it('keeps a subarray view to exactly its own bytes', () => {
    const big = new Uint16Array([1, 2, 3, 4, 5, 6]);
    const back = decodeFrame(encodeFrame({ v: big.subarray(2, 4) })) as { v: Uint16Array };
    expect(Array.from(back.v)).toEqual([3, 4]);
  });

  it('refuses malformed frames with a FrameError, never a crash', () => {
    const good = encodeFrame({ a: new Uint8Array([1, 2, 3]) });
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([1, 2]),
      new Uint8Array([255, 255, 255, 255, 0]),
      good.slice(0, 10),
      (() => {
        const f = good.slice();
        f[6] = 0xff; // breaks the UTF-8/JSON header
        return f;
      })(),
      new Uint8Array([...new Uint8Array(new Uint32Array([2]).buffer), 0x7b, 0x7d]), // "{}" lacks m/b
    ];
    for (const c of cases) expect(() => decodeFrame(c)).toThrow(FrameError);
    // A buffer table that claims more bytes than the frame has.
    const header = new TextEncoder().encode(JSON.stringify({ m: { x: { $typedArray: 'Int16Array', index: 0 } }, b: [1_000_000] }));
    const lie = new Uint8Array(8 + header.byteLength);
    new DataView(lie.buffer).setUint32(0, header.byteLength, true);
    lie.set(header, 4);
    expect(() => decodeFrame(lie)).toThrow(FrameError);
  });
});
