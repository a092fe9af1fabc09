import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_IMAGE_TOKEN_INDEX } from '../../../src-shared/contracts/model-pack';
import { readPngImage } from '../../../src-main/model/model-image';
import { verifyPack } from '../../../src-main/model/pack-verify';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';
import { buildRandomPack, maxAbsDiff, runReference, writeTestPng, type BuiltPack } from './pack-fixture';

interface RefAnswer {
  promptIds: number[];
  tokens: number[];
  logits: number[][];
}

const BOS = 512; // any id of the vocabulary: the random pack's tokenizer has no BOS of its own

// A random pack switched to the release's tokenization (BOS once, pieces around <image> encoded apart, the image
// at -200); the PyTorch reference builds its prompt ids with model/healthgpt/release.py from the same tokenizer.
describe('release tokenization (BOS, <image> splice) in the runtime', () => {
  let built: BuiltPack;
  let split: BuiltPack;
  let rt: ModelRuntime;
  let png: string;
  const editManifest = (dir: string, edit: (a: Record<string, unknown>) => void): void => {
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(file, 'utf8')) as { architecture: Record<string, unknown> };
    edit(m.architecture);
    writeFileSync(file, JSON.stringify(m, null, 2));
  };

  beforeAll(async () => {
    built = buildRandomPack('tiny', 11);
    split = { ...built, dir: path.join(built.root, 'split') };
    cpSync(built.dir, split.dir, { recursive: true });
    editManifest(split.dir, (a) => {
      a.tokenization = { image: 'split', bos: BOS };
      (a.specialTokens as Record<string, unknown>).imagePlaceholder = RELEASE_IMAGE_TOKEN_INDEX;
    });
    png = path.join(built.root, 'in.png');
    writeTestPng(png, 50, 37, 4, true);
    rt = await loadPack(split.dir, { provider: 'cpu' });
  });
  afterAll(async () => {
    await rt?.close();
    built?.cleanup();
  });

  it('prompt ids: BOS once, the pieces around <image> encoded apart, the image at -200', () => {
    const template = rt.manifest.tasks.vqa!.promptTemplate.replaceAll('{question}', 'Is the liver enlarged?');
    const [head, tail] = template.split('<image>');
    const { ids, at } = rt.promptIds(template);
    expect(ids).toEqual([BOS, ...rt.encode(head!), RELEASE_IMAGE_TOKEN_INDEX, ...rt.encode(tail!)]);
    expect(at).toBe(1 + rt.encode(head!).length);
    expect(ids.filter((x) => x === BOS)).toHaveLength(1);
    expect(() => rt.promptIds('no image here')).toThrow(/exactly one <image>/);
  });

  it('ask: the same prompt ids as the release algorithm in Python, same greedy tokens, logits within 1e-3', async () => {
    const question = 'Is the liver enlarged?';
    const mine = await rt.ask({ image: readPngImage(png), question, maxTokens: 10, collectLogits: true });
    const ref = runReference<RefAnswer>(split, { mode: 'ask', task: 'vqa', image: png, question, maxTokens: 10 });
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.promptIds[0]).toBe(BOS);
    expect(mine.tokens).toEqual(ref.tokens);
    for (let i = 0; i < ref.logits.length; i++) expect(maxAbsDiff(mine.logits![i]!, ref.logits[i]!)).toBeLessThan(1e-3);
  });

  it('generate: the prompt ends with <start_index>, same image tokens as the reference', async () => {
    const mine = await rt.generate({ task: 'recon', image: readPngImage(png), collectLogits: false });
    const ref = runReference<RefAnswer>(split, { mode: 'generate', task: 'recon', image: png, returnLogits: false });
    expect(mine.promptIds).toEqual(ref.promptIds);
    expect(mine.promptIds.at(-1)).toBe(rt.arch.specialTokens.startIndex);
    expect(mine.tokens).toEqual(ref.tokens);
  });

  it('ask keeps prompt + image + answer within maxPosition (the M3 sliding window) and refuses a prompt past it', async () => {
    const short = path.join(built.root, 'short');
    cpSync(split.dir, short, { recursive: true });
    const question = 'Is the liver enlarged?';
    const promptLength = rt.promptIds(rt.manifest.tasks.vqa!.promptTemplate.replaceAll('{question}', question)).ids.length - 1 + rt.arch.vision.numPatches;
    editManifest(short, (a) => {
      a.maxPosition = promptLength + 3;
    });
    const small = await loadPack(short, { provider: 'cpu' });
    try {
      const r = await small.ask({ image: readPngImage(png), question, maxTokens: 50 });
      expect(r.tokens.length).toBeLessThanOrEqual(3);
      await expect(small.ask({ image: readPngImage(png), question: 'word '.repeat(20) })).rejects.toThrow(/too long for this model/);
    } finally {
      await small.close();
    }
  });

  it('the schema takes the Phi-4 family and refuses a -200 placeholder without the split tokenization', async () => {
    const phi4 = path.join(built.root, 'phi4');
    cpSync(split.dir, phi4, { recursive: true });
    editManifest(phi4, (a) => {
      a.family = 'phi4';
    });
    expect((await verifyPack(phi4)).ok).toBe(true);
    editManifest(phi4, (a) => {
      delete a.tokenization;
    });
    const bad = await verifyPack(phi4);
    expect(bad).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
    if (!bad.ok) expect(bad.message).toContain("tokenization.image is 'split'");
    editManifest(phi4, (a) => {
      a.family = 'llama';
    });
    expect(await verifyPack(phi4)).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
  });
});
