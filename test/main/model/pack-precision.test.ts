import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngImage } from '../../../src-main/model/model-image';
import { loadPack, type ModelImage } from '../../../src-main/model/runtime';
import { buildRandomPack, PYTHON, REPO_ROOT, writeTestPng, type BuiltPack } from './pack-fixture';

/**
 * Quality cost of each pack precision against fp32, on the medium random pack (hidden 512, GQA 8/4, H-LoRA ranks
 * 16/64: the real layout at reduced width). Each precision is made from the same fp32 pack
 * (model/healthgpt/onnx_quant.py), so the only difference is how the weights are stored.
 */
interface Measured {
  firstLogitsMaxErr: number;
  firstLogitsSpread: number;
  top1Agree: number;
  top1Steps: number;
  imageTokenAgree: number;
  psnr: number;
  bytes: number;
}

const PRECISIONS = ['fp16', 'int8', 'int4'] as const;

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const argmax = (x: Float32Array): number => x.reduce((best, v, i, arr) => (v > arr[best]! ? i : best), 0);

describe('pack precisions against fp32 (MatMulNBits int8/int4, fp16 storage)', () => {
  let pack: BuiltPack;
  let image: ModelImage;
  const results: Partial<Record<(typeof PRECISIONS)[number], Measured>> = {};

  beforeAll(async () => {
    pack = buildRandomPack('medium', 11);
    const png = path.join(pack.root, 'in.png');
    writeTestPng(png, 40, 40, 7, false);
    image = readPngImage(png);
    const dirs: Record<string, string> = { fp32: pack.dir };
    for (const p of PRECISIONS) {
      dirs[p] = path.join(pack.root, p);
      cpSync(pack.dir, dirs[p], { recursive: true });
      execFileSync(PYTHON, ['-m', 'model.healthgpt.onnx_quant', '--pack', dirs[p], '--precision', p, '--block-size', '32'], { cwd: REPO_ROOT, stdio: 'pipe' });
    }
    const run = async (dir: string) => {
      const rt = await loadPack(dir, { provider: 'cpu' });
      try {
        const ask = await rt.ask({ image, question: 'Is there a lesion?', maxTokens: 16, collectLogits: true });
        const gen = await rt.generate({ task: 'recon', image, collectLogits: true });
        const bytes = rt.manifest.files.reduce((s, f) => s + f.size, 0);
        return { ask, gen, bytes };
      } finally {
        await rt.close();
      }
    };
    const ref = await run(dirs.fp32!);
    for (const p of PRECISIONS) {
      const got = await run(dirs[p]!);
      // top-1 over the steps both runs saw the same prefix (after a divergence the inputs differ)
      let agree = 0;
      let steps = 0;
      for (let i = 0; i < Math.min(ref.ask.logits!.length, got.ask.logits!.length); i++) {
        steps++;
        if (argmax(ref.ask.logits![i]!) === argmax(got.ask.logits![i]!)) agree++;
        if (ref.ask.tokens[i] !== got.ask.tokens[i]) break;
      }
      const first = ref.ask.logits![0]!;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of first) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      let se = 0;
      for (let i = 0; i < ref.gen.pixels.length; i++) se += (ref.gen.pixels[i]! - got.gen.pixels[i]!) ** 2;
      const mse = se / ref.gen.pixels.length;
      results[p] = {
        firstLogitsMaxErr: maxAbs(first, got.ask.logits![0]!),
        firstLogitsSpread: hi - lo,
        top1Agree: agree / steps,
        top1Steps: steps,
        imageTokenAgree: ref.gen.tokens.filter((t, i) => got.gen.tokens[i] === t).length / ref.gen.tokens.length,
        psnr: mse === 0 ? Infinity : 10 * Math.log10(1 / mse),
        bytes: got.bytes,
      };
    }
    console.log(JSON.stringify({ fp32Bytes: ref.bytes, ...results }));
  }, 900_000);
  afterAll(() => pack?.cleanup());

  // Thresholds: a logit error is a sum of K weight errors, each at most half a quantisation step, so it scales
  // with the step: fp16 keeps 11 significant bits (~0.05% per weight), int8 a step of max|w|/127 per block, int4
  // max|w|/7 (18x int8). Measured on this pack (seed 11): 0.025%, 0.2% and 4% of the logits' spread. The random
  // model's logit margins are tiny (spread ~3 over ~600 tokens), so token agreement here is a floor: a trained
  // model's margins are far wider.
  it('fp16 storage: logits within 0.1% of their spread, same greedy and image tokens', () => {
    const r = results.fp16!;
    expect(r.firstLogitsMaxErr / r.firstLogitsSpread).toBeLessThan(0.001);
    expect(r.top1Agree).toBe(1);
    expect(r.imageTokenAgree).toBe(1);
  });

  it('int8 blocks of 32: logits within 1% of their spread, same greedy tokens, image tokens and pixels kept', () => {
    const r = results.int8!;
    expect(r.firstLogitsMaxErr / r.firstLogitsSpread).toBeLessThan(0.01);
    expect(r.top1Agree).toBe(1);
    expect(r.imageTokenAgree).toBeGreaterThanOrEqual(0.9);
    expect(r.psnr).toBeGreaterThanOrEqual(40);
  });

  it('int4 blocks of 32: logits within 10% of their spread, most top-1 kept, smaller files than int8', () => {
    const r = results.int4!;
    expect(r.firstLogitsMaxErr / r.firstLogitsSpread).toBeLessThan(0.1);
    expect(r.top1Agree).toBeGreaterThanOrEqual(0.5);
    expect(r.imageTokenAgree).toBeGreaterThanOrEqual(0.25);
    expect(r.psnr).toBeGreaterThanOrEqual(15);
    expect(r.bytes).toBeLessThan(results.int8!.bytes);
    expect(results.int8!.bytes).toBeLessThan(results.fp16!.bytes);
  });
});
