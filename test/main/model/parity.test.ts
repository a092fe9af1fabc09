import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipPreprocess } from '../../../src-main/model/image-ops';
import { readPngImage } from '../../../src-main/model/model-image';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';
import { cachedTinyPack, maxAbsDiff, runReference, writeTestPng, type BuiltPack } from './pack-fixture';

interface RefAnswer {
  promptIds: number[];
  tokens: number[];
  logits: number[][];
  pixels?: number[];
  pixelValues?: number[];
}

/** Softmax over [start, end) of a reference logits row (float64): the chosen token's probability and the entropy. */
function referenceStep(logits: number[], start: number, end: number, chosen: number): { p: number; h: number } {
  const row = logits.slice(start, end);
  const max = Math.max(...row);
  const e = row.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return { p: e[chosen - start]! / z, h: -e.reduce((a, x) => a + (x > 0 ? (x / z) * Math.log(x / z) : 0), 0) };
}

// Parity: the ONNX runtime in Node and our PyTorch reference, same random pack (built here), same inputs.
describe('model runtime parity with the PyTorch reference', () => {
  let pack: BuiltPack;
  let rt: ModelRuntime;
  let wide: string;
  let tall: string;

  beforeAll(async () => {
    pack = cachedTinyPack();
    wide = path.join(pack.root, 'wide.png');
    tall = path.join(pack.root, 'tall.png');
    writeTestPng(wide, 61, 40, 3, false);
    writeTestPng(tall, 30, 47, 5, true);
    rt = await loadPack(pack.dir, { provider: 'cpu' });
  });
  afterAll(async () => {
    await rt?.close();
    pack?.cleanup();
  });

  it('preprocesses images exactly as the reference (pad with the CLIP mean, PIL bicubic, normalise)', () => {
    const v = rt.manifest.architecture.vision;
    for (const file of [wide, tall]) {
      const ref = runReference<RefAnswer>(pack, { mode: 'ask', image: file, question: 'x', maxTokens: 1, returnLogits: false, returnPixelValues: true });
      const mine = clipPreprocess(readPngImage(file).rgb, v.imageSize, v.padColor, v.mean, v.std);
      expect(mine.length).toBe(ref.pixelValues!.length);
      expect(maxAbsDiff(mine, ref.pixelValues!)).toBeLessThan(1e-5);
    }
  });

  for (const task of ['vqa', 'report'] as const) {
    it(`ask (${task}): same prompt ids, identical greedy tokens, logits within 1e-3`, async () => {
      const question = task === 'vqa' ? 'What modality is this, and is there a lesion?' : '';
      const streamed: string[] = [];
      const mine = await rt.ask({ image: readPngImage(wide), question, task, maxTokens: 12, collectLogits: true, onToken: (d) => streamed.push(d) });
      const ref = runReference<RefAnswer>(pack, { mode: 'ask', task, image: wide, question, maxTokens: 12 });
      expect(mine.promptIds).toEqual(ref.promptIds);
      expect(mine.tokens).toEqual(ref.tokens);
      expect(mine.logits!.length).toBe(ref.logits.length);
      for (let i = 0; i < ref.logits.length; i++) expect(maxAbsDiff(mine.logits![i]!, ref.logits[i]!)).toBeLessThan(1e-3);
      expect(mine.tokens.length).toBeGreaterThan(1);
      expect(streamed.join('')).toBe(mine.text);
      // the recorded confidence is the reference model's probability of the same tokens
      const refLog = ref.tokens.reduce((a, t, i) => a + Math.log(referenceStep(ref.logits[i]!, 0, rt.manifest.architecture.vocabSize, t).p), 0);
      expect(mine.confidence.overall).toBeCloseTo(Math.exp(refLog / ref.tokens.length), 3);
      expect(mine.provider).toBe('cpu');
    });
  }

  it('generate (ct2mri): identical image tokens, logits within 1e-3, decoded pixels within 1/255', async () => {
    const progress: number[] = [];
    const mine = await rt.generate({ task: 'ct2mri', image: readPngImage(tall), collectLogits: true, onProgress: (d) => progress.push(d) });
    const ref = runReference<RefAnswer>(pack, { mode: 'generate', task: 'ct2mri', image: tall });
    const grid = rt.manifest.architecture.vq.grid;
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.tokens.length).toBe(grid * grid);
    expect(mine.tokens).toEqual(ref.tokens);
    for (let i = 0; i < ref.logits.length; i++) expect(maxAbsDiff(mine.logits![i]!, ref.logits[i]!)).toBeLessThan(1e-3);
    const { start, count } = rt.manifest.architecture.imageTokens;
    for (const t of mine.tokens) expect(t >= start && t < start + count).toBe(true);
    expect(maxAbsDiff(mine.vqPixels, ref.pixels!)).toBeLessThanOrEqual(1 / 255);
    expect(progress.at(-1)).toBe(grid * grid);
    // recorded per-token probability and entropy = the reference's softmax over the image tokens
    const recorded = mine.tokenGrids[0]!;
    ref.tokens.forEach((t, i) => {
      const r = referenceStep(ref.logits[i]!, start, start + count, t);
      expect(Math.abs(recorded.probability[i]! - r.p)).toBeLessThan(1e-3);
      expect(Math.abs(recorded.entropy[i]! - r.h)).toBeLessThan(1e-3);
    });
    expect(new Set(mine.tokens).size).toBeGreaterThan(1);
    // output back at the input geometry
    expect([mine.rows, mine.cols]).toEqual([47, 30]);
  });

  it('super-resolution returns 4x the matrix at 1/4 the pixel spacing', async () => {
    const img = { ...readPngImage(wide), pixelSpacing: [0.8, 0.6] as [number, number] };
    const r = await rt.generate({ task: 'sr', image: img });
    expect([r.rows, r.cols]).toEqual([160, 244]);
    expect(r.pixels.length).toBe(160 * 244);
    expect(r.pixelSpacing![0]).toBeCloseTo(0.2, 12);
    expect(r.pixelSpacing![1]).toBeCloseTo(0.15, 12);
    for (const p of [r.pixels[0]!, r.pixels[1234]!]) expect(p >= 0 && p <= 1).toBe(true);
  });

  it('switching plugins changes the answer for the same image (com vs gen over one base)', async () => {
    const a = await rt.ask({ image: readPngImage(wide), question: 'q', maxTokens: 4, collectLogits: true });
    const g = await rt.generate({ task: 'recon', image: readPngImage(wide), collectLogits: true });
    expect(maxAbsDiff(a.logits![0]!, g.logits![0]!)).toBeGreaterThan(1e-2);
    // and back: comprehension is unchanged after a generation ran on the same sessions
    const a2 = await rt.ask({ image: readPngImage(wide), question: 'q', maxTokens: 4, collectLogits: true });
    expect(a2.tokens).toEqual(a.tokens);
    expect(maxAbsDiff(a2.logits![0]!, a.logits![0]!)).toBe(0);
  });

  it('cancels at any token', async () => {
    const ctrl = new AbortController();
    let n = 0;
    const r = await rt.ask({
      image: readPngImage(wide),
      question: 'q',
      maxTokens: 50,
      signal: ctrl.signal,
      onToken: () => {
        if (++n === 2) ctrl.abort();
      },
    });
    expect(r.stopReason === 'cancelled' || r.stopReason === 'eos').toBe(true);
    expect(r.tokens.length).toBeLessThan(50);
    const ctrl2 = new AbortController();
    await expect(
      rt.generate({ task: 'recon', image: readPngImage(wide), signal: ctrl2.signal, onProgress: (d) => d === 3 && ctrl2.abort() }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('manifest of the built pack names the demonstration use', () => {
    const m = JSON.parse(readFileSync(path.join(pack.dir, 'manifest.json'), 'utf8')) as { intendedUse: { text: string; demonstration: boolean } };
    expect(m.intendedUse.demonstration).toBe(true);
    expect(m.intendedUse.text).toContain('demonstration model, not for clinical use');
  });
});
