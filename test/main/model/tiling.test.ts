import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pilResizeBicubicRgb8, type Rgb8 } from '../../../src-main/model/image-ops';
import { imageFromGray8 } from '../../../src-main/model/model-image';
import { loadPack } from '../../../src-main/model/runtime';
import { generateTiled, tileStarts } from '../../../src-main/model/tiling';

/** A smooth grey phantom (low-frequency waves and a broad blob), 8-bit RGB. */
function phantom(n: number): Rgb8 {
  const data = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const u = x / n;
      const v = y / n;
      const g = 0.45 + 0.25 * Math.sin(2 * Math.PI * u) * Math.cos(3 * Math.PI * v) + 0.2 * Math.exp(-((u - 0.6) ** 2 + (v - 0.4) ** 2) / 0.05);
      data.fill(Math.round(Math.min(1, Math.max(0, g)) * 255), (y * n + x) * 3, (y * n + x) * 3 + 3);
    }
  return { width: n, height: n, data };
}

/** Bicubic ×scale of a crop (grey in [0,1]) plus a bias that differs from tile to tile, as a model's tiles differ. */
function tileModel(scale: number) {
  return async (crop: Rgb8, info: { index: number }): Promise<Float32Array> => {
    const up = pilResizeBicubicRgb8(crop, crop.width * scale, crop.height * scale);
    const bias = 0.03 * ((info.index * 7) % 3);
    const out = new Float32Array(up.width * up.height);
    for (let i = 0; i < out.length; i++) out[i] = up.data[i * 3]! / 255 + bias;
    return out;
  };
}

describe('native-resolution generation by overlapping tiles', () => {
  it('places tiles from edge to edge with at least the asked overlap', () => {
    expect(tileStarts(32, 32, 8)).toEqual([0]);
    const s = tileStarts(512, 32, 8);
    expect(s[0]).toBe(0);
    expect(s.at(-1)).toBe(480);
    for (let i = 1; i < s.length; i++) expect(s[i - 1]! + 32 - s[i]!).toBeGreaterThanOrEqual(8);
  });

  it('turns a 512² phantom into a 2048² image with no seam at the tile borders', async () => {
    const n = 512;
    const scale = 4;
    const tile = 32;
    const out = await generateTiled(phantom(n), tile, 8, scale, tileModel(scale));
    const N = n * scale;
    expect(out.length).toBe(N * N);
    // output columns where a tile starts or ends (a naive stitch jumps there by the tiles' bias difference, up to 0.06)
    const starts = tileStarts(n, tile, 8);
    const border = new Set<number>();
    for (const s of starts) for (const e of [s * scale, (s + tile) * scale]) if (e > 0 && e < N) border.add(e);
    let atBorder = 0;
    let interior = 0;
    for (let y = 0; y < N; y++)
      for (let x = 1; x < N; x++) {
        const d = Math.abs(out[y * N + x]! - out[y * N + x - 1]!);
        if (border.has(x)) atBorder = Math.max(atBorder, d);
        else interior = Math.max(interior, d);
      }
    for (let y = 1; y < N; y++)
      for (let x = 0; x < N; x++) {
        const d = Math.abs(out[y * N + x]! - out[(y - 1) * N + x]!);
        if (border.has(y)) atBorder = Math.max(atBorder, d);
        else interior = Math.max(interior, d);
      }
    // the step across a tile border is no larger than a step inside a tile, and far under the tiles' bias difference
    expect(atBorder).toBeLessThanOrEqual(interior);
    expect(atBorder).toBeLessThan(0.01);
  }, 120_000);

  it('generates SR of a 48×40 slice with the shipped model at 192×160, block-mean consistent, spacing ÷4', async () => {
    const rt = await loadPack(path.resolve('resources/packs/healthgpt-nano'), { provider: 'cpu' });
    try {
      const p = phantom(48);
      const gray = new Uint8Array(48 * 40);
      for (let y = 0; y < 40; y++) for (let x = 0; x < 48; x++) gray[y * 48 + x] = p.data[(y * 48 + x) * 3]!;
      const r = await rt.generate({ task: 'sr', image: imageFromGray8(gray, 40, 48, [2, 2]) });
      expect([r.rows, r.cols]).toEqual([160, 192]);
      expect(r.pixelSpacing).toEqual([0.5, 0.5]);
      expect(r.tokens.length).toBe(4 * 256); // 2 × 2 tiles of 32² input pixels
      let dev = 0;
      for (let y = 0; y < 40; y++)
        for (let x = 0; x < 48; x++) {
          let s = 0;
          for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += r.pixels[(y * 4 + dy) * 192 + x * 4 + dx]!;
          dev += Math.abs((s / 16) * 255 - gray[y * 48 + x]!);
        }
      expect(dev / (40 * 48)).toBeLessThan(0.25);
    } finally {
      await rt.close();
    }
  }, 120_000);
});
