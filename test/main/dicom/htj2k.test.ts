/**
 * No HTJ2K fixture ships with Debian, so this round-trips real pixels: MR_small encoded losslessly with
 * OpenJPH's encoder (the same package), decoded by our HTJ2K path, compared with the original.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeHtj2k, loadCodecs } from '../../../src-main/dicom/codecs';
import { parseDicomBytes } from '../../../src-main/dicom/parse';
import { decodeFrame } from '../../../src-main/dicom/pixels';
import { PYDICOM_FILES } from './fixtures';

interface Encoder {
  getDecodedBuffer(info: { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean; isUsingColorTransform: boolean }): Uint8Array;
  setQuality(reversible: boolean, quantizationStep: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
}

describe('HTJ2K', () => {
  it('decodes a lossless HTJ2K stream of real MR pixels exactly', async () => {
    await loadCodecs();
    const parsed = parseDicomBytes(readFileSync(path.join(PYDICOM_FILES, 'MR_small.dcm')));
    const original = decodeFrame(parsed, 0).pixels as Int16Array;
    const factory = createRequire(import.meta.url)('@cornerstonejs/codec-openjph/wasmjs') as () => Promise<{ HTJ2KEncoder: new () => Encoder }>;
    const mod = await factory();
    const enc = new mod.HTJ2KEncoder();
    const input = enc.getDecodedBuffer({ width: 64, height: 64, bitsPerSample: 16, componentCount: 1, isSigned: true, isUsingColorTransform: false });
    input.set(new Uint8Array(original.buffer, original.byteOffset, original.byteLength));
    enc.setQuality(true, 0);
    enc.encode();
    const stream = enc.getEncodedBuffer().slice();
    expect(stream.length).toBeLessThan(original.byteLength);
    const out = decodeHtj2k(stream);
    expect([out.width, out.height, out.components]).toEqual([64, 64, 1]);
    const decoded = new Int16Array(out.bytes.buffer, out.bytes.byteOffset, 64 * 64);
    expect(Array.from(decoded)).toEqual(Array.from(original));
  });
});
