import { describe, expect, it } from 'vitest';
import { blockMeanConsistent } from '../../../src-main/model/image-ops';

function grey(width: number, height: number, values: number[]): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  values.forEach((v, i) => data.fill(v, i * 3, i * 3 + 3));
  return { width, height, data };
}

function blockMean(out: Float32Array, cols: number, r: number, c: number, scale: number): number {
  let s = 0;
  for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) s += out[(r * scale + dy) * cols + c * scale + dx]!;
  return s / (scale * scale);
}

describe('super-resolution data consistency (block mean)', () => {
  it('makes every block mean equal the acquired pixel and keeps the detail inside each block', () => {
    const input = grey(3, 2, [0, 51, 102, 153, 204, 255]);
    const scale = 4;
    const cols = 3 * scale;
    const out = new Float32Array(2 * scale * cols);
    for (let i = 0; i < out.length; i++) out[i] = 0.3 + 0.05 * Math.sin(i * 0.7); // a generated image with detail
    const before = out.slice();
    blockMeanConsistent(out, input, scale);
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 3; c++) {
        const want = input.data[(r * 3 + c) * 3]! / 255;
        // 0 and 255 blocks are clipped at the range ends; all others are exact
        if (want > 0 && want < 1) expect(blockMean(out, cols, r, c, scale)).toBeCloseTo(want, 5);
      }
    // inside one unclipped block the detail (differences between pixels) is unchanged
    const k0 = 1 * scale; // block (0, 1), first row
    expect(out[k0 + 1]! - out[k0]!).toBeCloseTo(before[k0 + 1]! - before[k0]!, 5);
    for (const v of out) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('leaves an already consistent image unchanged', () => {
    const input = grey(2, 1, [64, 128]);
    const out = new Float32Array(2 * 4).fill(0);
    out.fill(64 / 255, 0, 2);
    out.fill(128 / 255, 2, 4);
    out.fill(64 / 255, 4, 6);
    out.fill(128 / 255, 6, 8);
    const before = out.slice();
    blockMeanConsistent(out, input, 2);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(before[i]!, 6);
  });
});
