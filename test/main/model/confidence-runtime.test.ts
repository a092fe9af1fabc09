import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageFromGray8 } from '../../../src-main/model/model-image';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';

// The recorded confidence against the logits the same run produced (collectLogits), recomputed here in
// double precision: the figures are the chosen tokens' real probabilities, not a separate estimate.
const PACK = path.resolve('resources/packs/healthgpt-nano');

function softmax(logits: Float32Array, start: number, end: number): number[] {
  let max = -Infinity;
  for (let i = start; i < end; i++) max = Math.max(max, logits[i]!);
  const e: number[] = [];
  for (let i = start; i < end; i++) e.push(Math.exp(logits[i]! - max));
  const z = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / z);
}

function slice(rows: number, cols: number): Uint8Array {
  const g = new Uint8Array(rows * cols);
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) g[y * cols + x] = Math.round(127 + 90 * Math.sin(x / 5) * Math.cos(y / 7) * Math.exp(-((x - cols / 2) ** 2 + (y - rows / 2) ** 2) / (rows * cols)));
  return g;
}

describe('confidence recorded while decoding (shipped nano pack)', () => {
  let rt: ModelRuntime;
  beforeAll(async () => {
    rt = await loadPack(PACK, { provider: 'cpu' });
  }, 120_000);
  afterAll(async () => {
    await rt?.close();
  });

  it('generation: each image token gets the probability and entropy of its softmax over the image tokens; the map covers the output', async () => {
    const r = await rt.generate({ task: 'sr', image: imageFromGray8(slice(40, 48), 40, 48, [2, 2]), collectLogits: true });
    const { start, count } = rt.arch.imageTokens;
    const grid = rt.arch.vq.grid;
    expect(r.tokenGrids.length).toBe(4); // 2 × 2 tiles
    expect(r.logits!.length).toBe(r.tokens.length);
    let k = 0;
    for (const g of r.tokenGrids) {
      expect(g.grid).toBe(grid);
      for (let i = 0; i < grid * grid; i++, k++) {
        const p = softmax(r.logits![k]!, start, start + count);
        const chosen = r.tokens[k]! - start;
        expect(g.probability[i]).toBeCloseTo(p[chosen]!, 5);
        expect(p[chosen]).toBe(Math.max(...p)); // greedy: the chosen token is the most probable
        const h = -p.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);
        expect(g.entropy[i]).toBeCloseTo(h, 4);
      }
    }
    const m = r.confidence;
    expect([m.rows, m.cols]).toEqual([r.rows, r.cols]);
    expect(m.probability.length).toBe(r.pixels.length);
    const all = r.tokenGrids.flatMap((g) => Array.from(g.probability));
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    for (const v of m.probability) expect(v >= lo - 1e-6 && v <= hi + 1e-6).toBe(true);
    expect(m.maxEntropy).toBeCloseTo(Math.log(count), 9);
    expect(m.summary.meanProbability).toBeCloseTo(all.reduce((s, x) => s + x, 0) / all.length, 5);
  }, 180_000);

  it('answers: per-token probabilities over the whole vocabulary, words that are spans of the text, an overall geometric mean', async () => {
    const r = await rt.ask({ image: imageFromGray8(slice(64, 64), 64, 64), question: 'What modality is this image?', maxTokens: 24, collectLogits: true });
    const c = r.confidence;
    expect(c.tokens).toBe(r.tokens.length);
    let logSum = 0;
    r.tokens.forEach((t, i) => {
      const p = softmax(r.logits![i]!, 0, rt.arch.vocabSize);
      logSum += Math.log(p[t]!);
    });
    expect(c.overall).toBeCloseTo(Math.exp(logSum / r.tokens.length), 5);
    expect(c.overall > 0 && c.overall <= 1).toBe(true);
    expect(c.words.length).toBeGreaterThan(0);
    for (const w of c.words) {
      expect(r.text.slice(w.start, w.end)).toBe(w.text);
      expect(w.probability > 0 && w.probability <= 1).toBe(true);
      expect(w.alternatives.length).toBe(3);
      expect(w.alternatives[0]!.probability).toBeGreaterThanOrEqual(w.alternatives[1]!.probability);
    }
  }, 120_000);
});
