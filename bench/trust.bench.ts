import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchRow } from './bench-types';
import { percentile } from './bench-types';
import { defaultEvalData } from '../src-main/cli/commands/eval';
import { gridToGeometry, stepConfidence, summarize, tokenGrid } from '../src-main/model/confidence';
import { EvalSplit } from '../src-main/model/eval-split';
import { imageFromGray8 } from '../src-main/model/model-image';
import { loadPack } from '../src-main/model/runtime';
import { cycleCheck } from '../src-main/workflow/cycle-check';

/**
 * Trust aids on the shipped nano pack (CPU). Overhead of recording confidence: the work it adds, timed on
 * the real logits of a real generation (the softmax statistics each step runs in the engine worker, then
 * the grid → map resampling and summary in main), as a share of that generation's wall time; target < 3%.
 * It is timed apart because it runs inside the decode loop, which has no switch to turn it off.
 * Cycle check: wall time of CT→MRI then MRI→CT and the comparison, one held-out 128² slice.
 */
export async function runTrustBenchmarks(): Promise<BenchRow[]> {
  const pack = path.resolve('resources/packs/healthgpt-nano');
  if (!existsSync(path.join(pack, 'manifest.json'))) return [];
  const split = EvalSplit.load(defaultEvalData());
  const rt = await loadPack(pack, { provider: 'cpu' });
  const rows: BenchRow[] = [];
  try {
    const { start, count } = rt.arch.imageTokens;
    const shares: number[] = [];
    const cycles: number[] = [];
    for (const i of [0, 70, 139]) {
      const g = split.gray8('ct', i);
      const image = imageFromGray8(g.data, g.rows, g.cols);
      const t = performance.now();
      const r = await rt.generate({ task: 'ct2mri', image, collectLogits: true });
      const genMs = performance.now() - t;
      const logits = r.logits!;
      const reps = 5;
      const t1 = performance.now();
      for (let k = 0; k < reps; k++) {
        const steps = logits.map((l, j) => stepConfidence(l, start, start + count, r.tokens[j]!, 0));
        const grid = tokenGrid(steps, rt.arch.vq.grid);
        const map = gridToGeometry(grid, r.rows, r.cols, 1, Math.log(count));
        summarize(grid.probability, grid.entropy, map.maxEntropy);
      }
      shares.push((performance.now() - t1) / reps / genMs);
      const c0 = performance.now();
      await cycleCheck(rt, 'ct2mri', image, await rt.generate({ task: 'ct2mri', image }), { lo: -160, hi: 240 });
      cycles.push((performance.now() - c0) / 1000);
    }
    // the answer's per-step cost over the whole vocabulary with 3 alternatives, per token
    const q = split.questions[0]!;
    const img = split.gray8('vqa', q.image);
    const a = await rt.ask({ image: imageFromGray8(img.data, img.rows, img.cols), question: q.question, task: 'vqa', maxTokens: 12, collectLogits: true });
    const t2 = performance.now();
    for (let k = 0; k < 20; k++) a.logits!.forEach((l, j) => stepConfidence(l, 0, rt.arch.vocabSize, a.tokens[j]!, 3));
    const perToken = (performance.now() - t2) / 20 / a.tokens.length;
    rows.push({ benchmark: 'trust confidence', metric: 'overhead of recording, ct2mri slice', value: percentile(shares, 50) * 100, unit: '%', note: 'goal < 3% of generation time (2-core CPU)' });
    rows.push({ benchmark: 'trust confidence', metric: 'answer, per token', value: perToken, unit: 'ms', note: `vs ${(a.timings.decodeMs / Math.max(1, a.tokens.length - 1)).toFixed(2)} ms decode per token` });
    rows.push({ benchmark: 'trust cycle check', metric: 'ct2mri + mri2ct, one 128² slice p50', value: percentile(cycles, 50), unit: 's', note: 'nano pack, CPU' });
  } finally {
    await rt.close();
  }
  return rows;
}
