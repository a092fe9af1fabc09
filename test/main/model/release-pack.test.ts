import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_IMAGE_TOKEN_INDEX } from '../../../src-shared/contracts/model-pack';
import { readPngImage } from '../../../src-main/model/model-image';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';
import { maxAbsDiff, PYTHON, runReference, writeTestPng, type BuiltPack } from './pack-fixture';

interface RefAnswer {
  promptIds: number[];
  tokens: number[];
  logits: number[][];
  pixels?: number[];
}

const REPO = path.resolve(__dirname, '../../..');

/** Writes the synthetic release of `preset` under root and exports it with the release exporter's CLI. */
function exportSyntheticRelease(root: string, preset: 'm3' | 'l14', precision: 'fp16' | 'fp32'): BuiltPack {
  const py = (args: string[]): string => execFileSync(PYTHON, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const src = JSON.parse(py(['-m', 'model.tests.release_fixture', path.join(root, 'release'), preset])) as Record<string, string>;
  const pack = { root, dir: path.join(root, 'pack'), reference: path.join(root, 'reference.pt'), cleanup: () => undefined };
  py(['-m', 'model.healthgpt.release_export', '--preset', preset, '--precision', precision, '--out', pack.dir, '--reference', pack.reference, ...Object.entries(src).flatMap(([s, p]) => [`--${s}`, p])]);
  return pack;
}

// A tiny synthetic HealthGPT-M3 release in the released layouts and key names (model/tests/release_fixture.py:
// sharded bf16 safetensors + index, bf16 .bin H-LoRA/fusion pickles, CLIP folder, taming last.ckpt + model.yaml),
// exported by the release exporter's CLI; the app's runtime against the PyTorch reference built from the same files.
describe('a pack exported from released files', () => {
  let root: string;
  let pack: BuiltPack;
  let rt: ModelRuntime;
  let png: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'hgpt-release-pack-'));
    pack = exportSyntheticRelease(root, 'm3', 'fp16'); // weights stored as fp16, graphs computing in float32
    png = path.join(root, 'in.png');
    writeTestPng(png, 45, 52, 9, false);
    rt = await loadPack(pack.dir, { provider: 'cpu' });
  }, 120_000);
  afterAll(async () => {
    await rt?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('has the release vocabulary, special ids, tokenization and tasks', () => {
    const a = rt.arch;
    expect(a.family).toBe('phi3');
    expect(a.dtype).toBe('float16');
    expect(a.vocabSize).toBe(40206);
    expect(a.tokenization).toEqual({ image: 'split', bos: 1 });
    expect(a.specialTokens).toEqual({ imagePlaceholder: RELEASE_IMAGE_TOKEN_INDEX, startIndex: 32011, endIndex: 40204, pixelNewline: 40205, eos: [32000, 32001, 32007] });
    expect(a.imageTokens).toEqual({ start: 32012, count: 8192 });
    expect(a.plugins.map((p) => [p.name, p.rank, p.alpha, p.visionLayer])).toEqual([['com', 64, 128, -2], ['gen', 256, 512, 1]]);
    expect(Object.keys(rt.manifest.tasks).sort()).toEqual(['recon', 'report', 'vqa']);
    expect(rt.encode('<|user|><idx_0><idx_8191><end_index>')).toEqual([32010, 32012, 40203, 40204]);
  });

  it('ask: the release prompt ids (BOS, splice), the same greedy tokens and logits within 1e-3', async () => {
    const question = 'What organ is shown?';
    const mine = await rt.ask({ image: readPngImage(png), question, maxTokens: 8, collectLogits: true });
    const ref = runReference<RefAnswer>(pack, { mode: 'ask', task: 'vqa', image: png, question, maxTokens: 8 });
    expect(mine.promptIds[0]).toBe(1);
    expect(mine.promptIds.filter((x) => x === RELEASE_IMAGE_TOKEN_INDEX)).toHaveLength(1);
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.tokens).toEqual(ref.tokens);
    for (let i = 0; i < ref.logits.length; i++) expect(maxAbsDiff(mine.logits![i]!, ref.logits[i]!)).toBeLessThan(1e-3);
  });

  it('recon: the same image tokens and the Gumbel VQGAN decodes to pixels within 1/255', async () => {
    const mine = await rt.generate({ task: 'recon', image: readPngImage(png) });
    const ref = runReference<RefAnswer>(pack, { mode: 'generate', task: 'recon', image: png, returnLogits: false });
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.tokens).toEqual(ref.tokens);
    expect(mine.vqSize).toBe(32);
    expect(maxAbsDiff(mine.vqPixels, ref.pixels!)).toBeLessThan(1 / 255);
  });
});

describe('a pack exported from released HealthGPT-L14 files (Phi-4 base, comprehension only)', () => {
  let root: string;
  let pack: BuiltPack;
  let rt: ModelRuntime;
  let png: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'hgpt-release-l14-'));
    pack = exportSyntheticRelease(root, 'l14', 'fp32');
    png = path.join(root, 'in.png');
    writeTestPng(png, 40, 40, 2, true);
    rt = await loadPack(pack.dir, { provider: 'cpu' });
  }, 120_000);
  afterAll(async () => {
    await rt?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('ask: Phi-4 template without BOS, the same greedy tokens and logits within 1e-3; no generation', async () => {
    expect(rt.arch.family).toBe('phi4');
    expect(rt.arch.dtype).toBe('float32');
    expect(rt.manifest.graphs.vqDecoder).toBeUndefined();
    const question = 'Is there a fracture?';
    const mine = await rt.ask({ image: readPngImage(png), question, maxTokens: 8, collectLogits: true });
    const ref = runReference<RefAnswer>(pack, { mode: 'ask', task: 'vqa', image: png, question, maxTokens: 8 });
    expect(mine.promptIds[0]).toBe(100264); // <|im_start|>: Phi-4's tokenizer adds no BOS
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.tokens).toEqual(ref.tokens);
    for (let i = 0; i < ref.logits.length; i++) expect(maxAbsDiff(mine.logits![i]!, ref.logits[i]!)).toBeLessThan(1e-3);
  });
});
