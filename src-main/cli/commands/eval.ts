import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { histogramMatch, meanMetrics, normaliseAnswer, type GrayImage, type MeanMetrics } from '../../model/eval-metrics';
import { EvalSplit } from '../../model/eval-split';
import { pilResizeBicubicRgb8, type Rgb8 } from '../../model/image-ops';
import { imageFromGray8 } from '../../model/model-image';
import { verifyPack } from '../../model/pack-verify';
import { loadPack, type ModelRuntime } from '../../model/runtime';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { resolvePack } from '../pack-args';

const TASKS = ['sr', 'ct2mri', 'mri2ct', 'vqa'] as const;
type EvalTask = (typeof TASKS)[number];

/** Default test split: the committed fixture next to the sources. */
export function defaultEvalData(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/vl-health-mini');
}

/** Evenly spread subset of 0..n-1 (all when limit is absent or >= n). */
function pick(n: number, limit: number | undefined): number[] {
  if (!limit || limit >= n) return Array.from({ length: n }, (_, i) => i);
  if (limit === 1) return [0];
  return Array.from({ length: limit }, (_, i) => Math.round((i * (n - 1)) / (limit - 1)));
}

export interface ImageTaskReport {
  ok: true;
  task: Exclude<EvalTask, 'vqa'>;
  pack: { name: string; version: string; demonstration: boolean };
  provider: string;
  data: string;
  /** What each test set is: its label, and whether the model never saw that subject (headline) or not. */
  sets: Record<string, { label: string; heldOut: boolean }>;
  /** The post-processing steps each method got (the equal baselines get the model's). */
  postprocess: Record<string, string[]>;
  /** Per test set, "held-out" (every held-out set, the headline) and "all" (the same-subject slab too): mean PSNR (dB) and SSIM. */
  results: Record<string, Record<string, MeanMetrics>>;
  secondsPerImage: number;
  totalSeconds: number;
}

export interface VqaReport {
  ok: true;
  task: 'vqa';
  pack: { name: string; version: string; demonstration: boolean };
  provider: string;
  data: string;
  /** Accuracy per question type, with the majority-answer baseline (majority taken on the training split). */
  perType: Record<string, { n: number; accuracy: number; majority: string; majorityAccuracy: number }>;
  perSet: Record<string, Record<string, { n: number; accuracy: number; majorityAccuracy: number }>>;
  overall: { n: number; accuracy: number; majorityAccuracy: number };
  totalSeconds: number;
}

/** PIL bicubic upsampling of an 8-bit grey image (the same resize the model's preprocessing applies). */
export function bicubicUpsample(g: { rows: number; cols: number; data: Uint8Array }, outRows: number, outCols: number): GrayImage {
  const rgb = new Uint8Array(g.rows * g.cols * 3);
  for (let i = 0; i < g.rows * g.cols; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = g.data[i]!;
  const up = pilResizeBicubicRgb8({ width: g.cols, height: g.rows, data: rgb }, outCols, outRows);
  const data = new Float64Array(outRows * outCols);
  for (let i = 0; i < data.length; i++) data[i] = up.data[i * 3]! / 255;
  return { rows: outRows, cols: outCols, data };
}

/**
 * The test sets of the split: which subjects the model never saw (headline figures) and which is the
 * training subject's other slab (reported apart, never in the headline).
 */
export const TEST_SETS: Record<string, { label: string; heldOut: boolean }> = {
  itk_t1: { label: 'ITK T1 (held-out subject)', heldOut: true },
  macaque: { label: 'macaque (held-out species)', heldOut: true },
  colin27_test: { label: 'Colin27 same subject (other slab)', heldOut: false },
};
/** The headline row: every held-out set together; the same-subject slab is not in it. */
export const HELD_OUT = 'held-out';

function rgbOf(g: { rows: number; cols: number; data: Uint8Array }): Rgb8 {
  const rgb = new Uint8Array(g.rows * g.cols * 3);
  for (let i = 0; i < g.rows * g.cols; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = g.data[i]!;
  return { width: g.cols, height: g.rows, data: rgb };
}

/**
 * One slice of an image task: the model's output (app runtime, whole generate path) and the baselines. SR's
 * equal baseline is bicubic given every post-processing step the model's output gets (rt.outputPostprocess:
 * the block-mean projection), so the comparison is like for like; plain bicubic is kept for reference.
 */
export async function imagePredictions(rt: ModelRuntime, split: EvalSplit, task: Exclude<EvalTask, 'vqa'>, i: number) {
  const targetKind = task === 'mri2ct' ? 'ct' : 'mri';
  const inputKind = task === 'sr' ? 'lr' : task === 'ct2mri' ? 'ct' : 'mri';
  const inp = split.gray8(inputKind, i);
  const target = split.image(targetKind, i);
  const t = performance.now();
  const out = await rt.generate({ task, image: imageFromGray8(inp.data, inp.rows, inp.cols) });
  const ms = performance.now() - t;
  if (out.rows !== target.rows || out.cols !== target.cols) {
    throw new DomainError('EVAL_GEOMETRY', `${task}: model output ${out.rows}x${out.cols}, target ${target.rows}x${target.cols}`);
  }
  const post = rt.outputPostprocess(task);
  const preds: Record<string, GrayImage> = { model: { rows: out.rows, cols: out.cols, data: out.pixels } };
  const postprocess: Record<string, string[]> = { model: post.steps };
  const equal = (name: string, img: GrayImage): void => {
    if (post.steps.length === 0) {
      preds[name] = img;
      postprocess[name] = [];
      return;
    }
    preds[name] = img; // without the model's post-processing, for reference
    postprocess[name] = [];
    const key = `${name}+${post.steps.join('+')}`;
    preds[key] = { rows: img.rows, cols: img.cols, data: post.apply(Float32Array.from(img.data), rgbOf(inp)) };
    postprocess[key] = post.steps;
  };
  if (task === 'sr') {
    equal('bicubic', bicubicUpsample(inp, target.rows, target.cols));
  } else {
    const x = split.image(inputKind, i);
    equal('identity', x);
    equal('histmatch', histogramMatch(x, split.index.histReference[targetKind]));
  }
  return { target, preds, postprocess, ms };
}

export async function evalImageTask(rt: ModelRuntime, split: EvalSplit, task: Exclude<EvalTask, 'vqa'>, limit?: number): Promise<ImageTaskReport> {
  const t0 = performance.now();
  const idx = pick(split.slices.length, limit);
  const bySet = new Map<string, { preds: Record<string, GrayImage[]>; targets: GrayImage[] }>();
  let genMs = 0;
  let postprocess: Record<string, string[]> = {};
  for (const i of idx) {
    const p = await imagePredictions(rt, split, task, i);
    genMs += p.ms;
    postprocess = p.postprocess;
    const setId = split.slices[i]!.testSet;
    for (const set of TEST_SETS[setId]?.heldOut === false ? [setId, 'all'] : [setId, HELD_OUT, 'all']) {
      let e = bySet.get(set);
      if (!e) bySet.set(set, (e = { preds: {}, targets: [] }));
      e.targets.push(p.target);
      for (const [k, v] of Object.entries(p.preds)) (e.preds[k] ??= []).push(v);
    }
  }
  const order = (s: string): number => (s === HELD_OUT ? 2 : s === 'all' ? 4 : TEST_SETS[s]?.heldOut === false ? 3 : 1);
  const results: ImageTaskReport['results'] = {};
  for (const [set, e] of [...bySet.entries()].sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))) {
    results[set] = Object.fromEntries(Object.entries(e.preds).map(([k, v]) => [k, meanMetrics(v, e.targets)]));
  }
  const m = rt.manifest;
  return {
    ok: true,
    task,
    pack: { name: m.name, version: m.version, demonstration: m.intendedUse.demonstration },
    provider: rt.provider,
    data: split.dir,
    sets: Object.fromEntries(Object.keys(results).map((k) => [k, k === HELD_OUT ? { label: 'all held-out sets (headline)', heldOut: true } : k === 'all' ? { label: 'all, same subject included (no headline)', heldOut: false } : (TEST_SETS[k] ?? { label: k, heldOut: true })])),
    postprocess,
    results,
    secondsPerImage: idx.length ? genMs / idx.length / 1000 : 0,
    totalSeconds: (performance.now() - t0) / 1000,
  };
}

export async function evalVqa(rt: ModelRuntime, split: EvalSplit, limit?: number): Promise<VqaReport> {
  const t0 = performance.now();
  const qs = pick(split.questions.length, limit).map((i) => split.questions[i]!);
  const type: Record<string, { n: number; ok: number; maj: number }> = {};
  const set: Record<string, Record<string, { n: number; ok: number; maj: number }>> = {};
  for (const q of qs) {
    const img = split.gray8('vqa', q.image);
    const r = await rt.ask({ image: imageFromGray8(img.data, img.rows, img.cols), question: q.question, task: 'vqa', maxTokens: 12 });
    const right = normaliseAnswer(r.text) === normaliseAnswer(q.answer) ? 1 : 0;
    const maj = normaliseAnswer(split.index.majority[q.type] ?? '') === normaliseAnswer(q.answer) ? 1 : 0;
    for (const rec of [(type[q.type] ??= { n: 0, ok: 0, maj: 0 }), ((set[q.testSet] ??= {})[q.type] ??= { n: 0, ok: 0, maj: 0 })]) {
      rec.n++;
      rec.ok += right;
      rec.maj += maj;
    }
  }
  const perType: VqaReport['perType'] = {};
  let n = 0;
  let ok = 0;
  let mj = 0;
  for (const [k, v] of Object.entries(type)) {
    perType[k] = { n: v.n, accuracy: v.ok / v.n, majority: split.index.majority[k] ?? '', majorityAccuracy: v.maj / v.n };
    n += v.n;
    ok += v.ok;
    mj += v.maj;
  }
  const perSet: VqaReport['perSet'] = {};
  for (const [s, d] of Object.entries(set)) {
    perSet[s] = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { n: v.n, accuracy: v.ok / v.n, majorityAccuracy: v.maj / v.n }]));
  }
  const m = rt.manifest;
  return {
    ok: true,
    task: 'vqa',
    pack: { name: m.name, version: m.version, demonstration: m.intendedUse.demonstration },
    provider: rt.provider,
    data: split.dir,
    perType,
    perSet,
    overall: { n, accuracy: n ? ok / n : 0, majorityAccuracy: n ? mj / n : 0 },
    totalSeconds: (performance.now() - t0) / 1000,
  };
}

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const f3 = (x: number): string => x.toFixed(3);

function imageTable(r: ImageTaskReport): string {
  const methods = Object.keys(r.results[HELD_OUT] ?? Object.values(r.results)[0] ?? {});
  const lines = [`${r.task} on the test split — ${r.pack.name} ${r.pack.version}${r.pack.demonstration ? ' (demonstration model, not for clinical use)' : ''}`];
  lines.push(`post-processing: ${methods.map((m) => `${m}: ${r.postprocess[m]?.join(' + ') || 'none'}`).join('; ')}`);
  lines.push([''.padEnd(36), 'n'.padStart(4), ...methods.map((m) => `${m} PSNR/SSIM`.padStart(Math.max(22, m.length + 11)))].join(' '));
  for (const [set, row] of Object.entries(r.results)) {
    lines.push([(r.sets[set]?.label ?? set).padEnd(36), String(row[methods[0]!]?.n ?? 0).padStart(4), ...methods.map((m) => `${f2(row[m]!.psnr)} / ${f3(row[m]!.ssim)}`.padStart(Math.max(22, m.length + 11)))].join(' '));
  }
  lines.push(`${f2(r.secondsPerImage)} s per image (${r.provider})`);
  return lines.join('\n');
}

function vqaTable(r: VqaReport): string {
  const lines = [`VQA on the held-out test split — ${r.pack.name} ${r.pack.version}${r.pack.demonstration ? ' (demonstration model, not for clinical use)' : ''}`];
  lines.push(['question type'.padEnd(14), 'n'.padStart(5), 'model'.padStart(8), 'majority'.padStart(9), 'answer'.padStart(14)].join(' '));
  for (const [k, v] of Object.entries(r.perType)) {
    lines.push([k.padEnd(14), String(v.n).padStart(5), f3(v.accuracy).padStart(8), f3(v.majorityAccuracy).padStart(9), v.majority.padStart(14)].join(' '));
  }
  lines.push(['overall'.padEnd(14), String(r.overall.n).padStart(5), f3(r.overall.accuracy).padStart(8), f3(r.overall.majorityAccuracy).padStart(9)].join(' '));
  return lines.join('\n');
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: "Evaluate a model pack on the held-out test split with the app's runtime, next to simple baselines",
  usage:
    'healthgpt eval --pack <pack-folder-or-name> --task sr|ct2mri|mri2ct|vqa [--data <split folder>] [--limit N] [--threads N] [--json]\n' +
    '  sr: PSNR/SSIM vs bicubic, plain and with the model\'s block-mean projection; held-out subjects apart from the training subject\'s other slab; ct2mri, mri2ct: vs identity and histogram matching; vqa: accuracy per question type vs majority answer',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        pack: { type: 'string' },
        task: { type: 'string' },
        data: { type: 'string' },
        limit: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.pack) throw new UsageError('--pack is required');
    const task = values.task as EvalTask | undefined;
    if (!task || !TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}`);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new UsageError('--threads must be a positive integer');
    const dataDir = path.resolve(values.data ?? defaultEvalData());
    if (!existsSync(path.join(dataDir, 'index.json'))) throw new UsageError(`no test split in ${dataDir} (expected index.json and images.u8.gz)`);
    const services = await io.services();
    const verified = await verifyPack(resolvePack(values.pack, services), { ...services.packVerifyOptions(), keepContents: true });
    if (!verified.ok) throw new DomainError(verified.code, verified.message);
    const split = EvalSplit.load(dataDir);
    const rt = await loadPack(verified.dir, { verified, provider: 'cpu', ...(threads ? { threads } : {}) });
    try {
      if (task === 'vqa') {
        const r = await evalVqa(rt, split, limit);
        printResult(io, values.json, r, () => vqaTable(r));
      } else {
        const r = await evalImageTask(rt, split, task, limit);
        printResult(io, values.json, r, () => imageTable(r));
      }
    } finally {
      await rt.close();
    }
    return 0;
  },
};
