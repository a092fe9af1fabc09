import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEvalData, evalImageTask, evalVqa } from '../../../src-main/cli/commands/eval';
import { EvalSplit } from '../../../src-main/model/eval-split';
import { verifyPack } from '../../../src-main/model/pack-verify';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';

// The shipped demonstration pack, evaluated with the app's ONNX runtime on a fixed subset of the held-out
// test split, against what the PyTorch reference of the same trained model produced on the same subset
// (test/fixtures/vl-health-mini/nano-reference.json, written by model/eval/reference_subset.py).
const PACK = path.resolve('resources/packs/healthgpt-nano');
const REF = path.join(defaultEvalData(), 'nano-reference.json');

interface Metric {
  psnr: number;
  ssim: number;
}
interface Reference {
  manifestSha256: string;
  limit: number;
  vqaLimit: number;
  sr: Record<string, Metric>;
  ct2mri: Record<string, Metric>;
  mri2ct: Record<string, Metric>;
  vqa: { answers: string[]; accuracy: number };
}

describe.skipIf(!existsSync(path.join(PACK, 'manifest.json')) || !existsSync(REF))('shipped HealthGPT-nano pack', () => {
  let rt: ModelRuntime;
  let split: EvalSplit;
  let ref: Reference;

  beforeAll(async () => {
    ref = JSON.parse(readFileSync(REF, 'utf8')) as Reference;
    split = EvalSplit.load(defaultEvalData());
    rt = await loadPack(PACK, { provider: 'cpu' });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('verifies, and says everywhere that it is a demonstration model, not for clinical use', async () => {
    const v = await verifyPack(PACK);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.manifestSha256).toBe(ref.manifestSha256);
    expect(v.manifest.intendedUse.demonstration).toBe(true);
    expect(v.manifest.intendedUse.text).toContain('demonstration model, not for clinical use');
    const card = readFileSync(path.join(PACK, 'model-card.md'), 'utf8');
    expect(card).toContain('not for clinical use');
    expect(readFileSync('docs/model-card.md', 'utf8')).toBe(card);
  });

  for (const task of ['sr', 'ct2mri', 'mri2ct'] as const) {
    it(`${task}: the app's runtime gives the PyTorch reference's PSNR/SSIM on held-out slices, with baselines`, async () => {
      const r = await evalImageTask(rt, split, task, ref.limit);
      const all = r.results.all!;
      expect(all.model!.n).toBe(ref.limit);
      expect(Math.abs(all.model!.psnr - ref[task].model!.psnr)).toBeLessThan(0.05);
      expect(Math.abs(all.model!.ssim - ref[task].model!.ssim)).toBeLessThan(0.002);
      for (const [name, m] of Object.entries(ref[task])) {
        if (name === 'model') continue;
        expect(Math.abs(all[name]!.psnr - m.psnr)).toBeLessThan(1e-6);
        expect(Math.abs(all[name]!.ssim - m.ssim)).toBeLessThan(1e-6);
      }
    });
  }

  it("vqa: the app's runtime answers the reference's answers and scores its accuracy", async () => {
    const r = await evalVqa(rt, split, ref.vqaLimit);
    expect(r.overall.n).toBe(ref.vqaLimit);
    expect(Math.abs(r.overall.accuracy - ref.vqa.accuracy)).toBeLessThanOrEqual(1 / ref.vqaLimit + 1e-9);
    for (const t of Object.values(r.perType)) expect(t.majority.length).toBeGreaterThan(0);
  });
});
