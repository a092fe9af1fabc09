import { parseArgs } from 'node:util';
import { normaliseAnswer } from '../../model/eval-metrics';
import { EvalSplit } from '../../model/eval-split';
import { imageFromGray8 } from '../../model/model-image';
import { loadPack, type ModelRuntime } from '../../model/runtime';
import { calibration, patchMeans, spearman, type ReliabilityBin } from '../../model/trust-stats';
import { cycleCheck } from '../../workflow/cycle-check';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { resolvePack } from '../pack-args';
import { defaultEvalData, TEST_SETS } from './eval';

/**
 * Does the model's own uncertainty coincide with its real error? On the held-out sets of the test split
 * only (the same-subject slab is left out): per patch of the output, the recorded entropy against the mean
 * absolute error from the ground truth (Spearman, pooled and within slices); per slice, mean entropy and
 * (conversions) the cycle difference against the slice's error; per VQA answer, the overall confidence
 * against correctness (reliability bins, expected calibration error).
 */
type ImageTask = 'sr' | 'ct2mri' | 'mri2ct';

export interface TrustImageReport {
  task: ImageTask;
  slices: number;
  patchSize: number;
  patches: number;
  /** Spearman(entropy, |error|) over every patch of every slice. */
  patchSpearmanPooled: number;
  /** Mean over slices of the within-slice Spearman (what a reader sees: where on this slice to doubt). */
  patchSpearmanWithinSlice: number;
  /** The same, inside the body only (ground-truth patch mean above 5%): background is easy and sure, which alone would make a correlation. */
  patchSpearmanBodyPooled: number;
  /** Spearman(1 − probability, |error|) pooled, for the probability the overlay shows. */
  patchSpearmanDoubtPooled: number;
  /** Spearman(slice mean entropy, slice MAE). */
  sliceSpearmanEntropy: number;
  /** Conversions: Spearman(cycle mean |difference|, slice MAE). */
  sliceSpearmanCycle?: number;
}

export interface TrustVqaReport {
  questions: number;
  accuracy: number;
  meanConfidence: number;
  ece: number;
  /** Spearman(confidence, correct) (point-biserial by ranks). */
  spearman: number;
  bins: ReliabilityBin[];
}

function heldOutSlices(split: EvalSplit, limit: number): number[] {
  const all = split.slices.map((s, i) => [s, i] as const).filter(([s]) => TEST_SETS[s.testSet]?.heldOut !== false).map(([, i]) => i);
  if (limit >= all.length) return all;
  return Array.from({ length: limit }, (_, k) => all[Math.round((k * (all.length - 1)) / Math.max(1, limit - 1))]!);
}

export async function trustImage(rt: ModelRuntime, split: EvalSplit, task: ImageTask, limit: number, patchSize = 8): Promise<TrustImageReport> {
  const pooledH: number[] = [];
  const pooledD: number[] = [];
  const pooledE: number[] = [];
  const bodyH: number[] = [];
  const bodyE: number[] = [];
  const within: number[] = [];
  const sliceH: number[] = [];
  const sliceE: number[] = [];
  const sliceC: number[] = [];
  for (const i of heldOutSlices(split, limit)) {
    const inputKind = task === 'sr' ? 'lr' : task === 'ct2mri' ? 'ct' : 'mri';
    const inp = split.gray8(inputKind, i);
    const target = split.image(task === 'mri2ct' ? 'ct' : 'mri', i);
    const image = imageFromGray8(inp.data, inp.rows, inp.cols);
    const out = await rt.generate({ task, image });
    const err = new Float32Array(out.pixels.length);
    let mae = 0;
    for (let k = 0; k < err.length; k++) {
      err[k] = Math.abs(out.pixels[k]! - target.data[k]!);
      mae += err[k]!;
    }
    const h = patchMeans(out.confidence.entropy, out.rows, out.cols, patchSize);
    const d = patchMeans(out.confidence.probability.map((p) => 1 - p), out.rows, out.cols, patchSize);
    const e = patchMeans(err, out.rows, out.cols, patchSize);
    pooledH.push(...h);
    pooledD.push(...d);
    pooledE.push(...e);
    patchMeans(Float32Array.from(target.data), out.rows, out.cols, patchSize).forEach((t, k) => {
      if (t > 0.05) {
        bodyH.push(h[k]!);
        bodyE.push(e[k]!);
      }
    });
    const w = spearman(h, e);
    if (Number.isFinite(w)) within.push(w);
    sliceH.push(out.confidence.summary.meanEntropy);
    sliceE.push(mae / err.length);
    if (task !== 'sr') sliceC.push((await cycleCheck(rt, task, image, out, null)).meanAbsDifference);
  }
  return {
    task,
    slices: sliceE.length,
    patchSize,
    patches: pooledE.length,
    patchSpearmanPooled: spearman(pooledH, pooledE),
    patchSpearmanWithinSlice: within.reduce((s, x) => s + x, 0) / Math.max(1, within.length),
    patchSpearmanBodyPooled: spearman(bodyH, bodyE),
    patchSpearmanDoubtPooled: spearman(pooledD, pooledE),
    sliceSpearmanEntropy: spearman(sliceH, sliceE),
    ...(task !== 'sr' ? { sliceSpearmanCycle: spearman(sliceC, sliceE) } : {}),
  };
}

export async function trustVqa(rt: ModelRuntime, split: EvalSplit, limit: number): Promise<TrustVqaReport> {
  const qs = split.questions.filter((q) => TEST_SETS[q.testSet]?.heldOut !== false);
  const pickQ = limit >= qs.length ? qs : Array.from({ length: limit }, (_, k) => qs[Math.round((k * (qs.length - 1)) / Math.max(1, limit - 1))]!);
  const conf: number[] = [];
  const right: boolean[] = [];
  for (const q of pickQ) {
    const img = split.gray8('vqa', q.image);
    const r = await rt.ask({ image: imageFromGray8(img.data, img.rows, img.cols), question: q.question, task: 'vqa', maxTokens: 12 });
    conf.push(r.confidence.overall);
    right.push(normaliseAnswer(r.text) === normaliseAnswer(q.answer));
  }
  const cal = calibration(conf, right);
  return {
    questions: conf.length,
    accuracy: right.filter(Boolean).length / Math.max(1, right.length),
    meanConfidence: conf.reduce((s, x) => s + x, 0) / Math.max(1, conf.length),
    ece: cal.ece,
    spearman: spearman(conf, right.map((x) => (x ? 1 : 0))),
    bins: cal.bins,
  };
}

export const evalTrustCommand: CliCommand = {
  name: 'eval trust',
  summary: "Does the model's confidence (and the cycle check) go with its real error? Held-out split",
  usage: 'healthgpt eval trust --pack <pack> [--data <split-folder>] [--limit N] [--vqa-limit N] [--json]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { pack: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string', default: '24' }, 'vqa-limit': { type: 'string', default: '200' }, json: { type: 'boolean', default: false } },
      strict: true,
    });
    if (!values.pack) throw new UsageError('--pack is required');
    const limit = Number(values.limit);
    const vqaLimit = Number(values['vqa-limit']);
    if (!(Number.isInteger(limit) && limit > 0 && Number.isInteger(vqaLimit) && vqaLimit > 0)) throw new UsageError('--limit and --vqa-limit must be positive integers');
    const services = await io.services();
    const rt = await loadPack(resolvePack(values.pack, services), { provider: 'cpu' });
    try {
      const split = EvalSplit.load(values.data ?? defaultEvalData());
      const images: TrustImageReport[] = [];
      for (const task of ['sr', 'ct2mri', 'mri2ct'] as const) if (rt.manifest.tasks[task]) images.push(await trustImage(rt, split, task, limit));
      const vqa = rt.manifest.tasks.vqa ? await trustVqa(rt, split, vqaLimit) : null;
      const value = { ok: true, pack: { name: rt.manifest.name, version: rt.manifest.version }, data: split.dir, images, vqa };
      printResult(io, values.json, value, () =>
        [
          ...images.map((r) => `${r.task}: ${r.slices} held-out slices; entropy vs |error| per ${r.patchSize}² patch: Spearman ${r.patchSpearmanPooled.toFixed(3)} pooled (${r.patchSpearmanBodyPooled.toFixed(3)} body only), ${r.patchSpearmanWithinSlice.toFixed(3)} within slices; per slice ${r.sliceSpearmanEntropy.toFixed(3)}${r.sliceSpearmanCycle !== undefined ? `; cycle vs error per slice ${r.sliceSpearmanCycle.toFixed(3)}` : ''}`),
          ...(vqa ? [`vqa: ${vqa.questions} held-out questions, accuracy ${vqa.accuracy.toFixed(3)}, mean confidence ${vqa.meanConfidence.toFixed(3)}, ECE ${vqa.ece.toFixed(3)}, Spearman(confidence, correct) ${vqa.spearman.toFixed(3)}`] : []),
        ].join('\n'),
      );
      return 0;
    } finally {
      await rt.close();
    }
  },
};
