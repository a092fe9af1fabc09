import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEvalData, imagePredictions } from '../../../src-main/cli/commands/eval';
import type { GrayImage } from '../../../src-main/model/eval-metrics';
import { EvalSplit } from '../../../src-main/model/eval-split';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';

const PACK = path.resolve('resources/packs/healthgpt-nano');

/** Mean |block mean − acquired pixel| over the 4×4 blocks, in 8-bit levels. */
function blockMeanDeviation(img: GrayImage, lr: { rows: number; cols: number; data: Uint8Array }): number {
  const f = img.rows / lr.rows;
  let dev = 0;
  for (let r = 0; r < lr.rows; r++)
    for (let c = 0; c < lr.cols; c++) {
      let s = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += img.data[(r * f + dy) * img.cols + c * f + dx]!;
      dev += Math.abs((s / (f * f)) * 255 - lr.data[r * lr.cols + c]!);
    }
  return dev / (lr.rows * lr.cols);
}

describe('eval: the SR baseline gets exactly the post-processing the model gets', () => {
  let rt: ModelRuntime;
  let split: EvalSplit;
  beforeAll(async () => {
    rt = await loadPack(PACK, { provider: 'cpu' });
    split = EvalSplit.load(defaultEvalData());
  }, 120_000);
  afterAll(async () => rt.close());

  it('projects the model output and the equal bicubic baseline alike, and names plain bicubic apart', async () => {
    // one slice of each held-out set (ITK T1, macaque)
    for (const setName of ['itk_t1', 'macaque']) {
      const i = split.slices.findIndex((s) => s.testSet === setName);
      const p = await imagePredictions(rt, split, 'sr', i);
      const lr = split.gray8('lr', i);
      expect(p.postprocess.model).toEqual(['block-mean projection']);
      expect(p.postprocess['bicubic+block-mean projection']).toEqual(p.postprocess.model);
      expect(p.postprocess.bicubic).toEqual([]);
      // both sides projected: their block means are the acquired pixels (up to clipping at 0 and 1)
      expect(blockMeanDeviation(p.preds.model!, lr)).toBeLessThan(0.25);
      expect(blockMeanDeviation(p.preds['bicubic+block-mean projection']!, lr)).toBeLessThan(0.25);
      // plain bicubic is not: the check above would catch a projection left off one side
      expect(blockMeanDeviation(p.preds.bicubic!, lr)).toBeGreaterThan(0.5);
    }
  }, 120_000);

  it('gives CT→MRI baselines no projection, as the model gets none', async () => {
    const p = await imagePredictions(rt, split, 'ct2mri', 0);
    expect(p.postprocess).toEqual({ model: [], identity: [], histmatch: [] });
  }, 120_000);
});
