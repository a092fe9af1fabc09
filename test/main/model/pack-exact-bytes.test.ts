/**
 * Security issue #14, finding 3: verifyPack hashed the files, then ONNX Runtime opened them again by path,
 * so a file swapped in between (a symbolic link, or new bytes) ran a graph nobody verified; links inside a
 * pack pointing outside it were accepted. The runtime must load exactly the bytes it verified, and a pack
 * holding a symbolic link anywhere is refused with a message naming it.
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPack } from '../../../src-main/model/pack-verify';
import { loadPack, type ModelRuntime } from '../../../src-main/model/runtime';
import { buildRandomPack, type BuiltPack } from './pack-fixture';

/** The logits of a short answer: what a pack's graphs and tokenizer make of one fixed request. */
async function answerLogits(rt: ModelRuntime): Promise<number[]> {
  const data = new Uint8Array(16 * 16 * 3);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 37) % 256;
  const r = await rt.ask({ image: { rgb: { width: 16, height: 16, data } }, question: 'Which modality is this?', maxTokens: 3, collectLogits: true });
  return (r.logits ?? []).flatMap((l) => Array.from(l.subarray(0, 64)));
}

describe('model pack: load exactly the verified bytes, refuse links', () => {
  let packA: BuiltPack;
  let packB: BuiltPack;
  let work: string;
  let n = 0;
  let logitsA: number[] = [];
  const fresh = (): string => {
    const dir = path.join(work, `p${n++}`);
    cpSync(packA.dir, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    packA = buildRandomPack('tiny', 1);
    packB = buildRandomPack('tiny', 2);
    work = mkdtempSync(path.join(tmpdir(), 'hgpt-exact-'));
    const rt = await loadPack(packA.dir, { provider: 'cpu', threads: 1 });
    try {
      logitsA = await answerLogits(rt);
    } finally {
      await rt.close();
    }
  }, 180_000);

  afterAll(() => {
    packA?.cleanup();
    packB?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses a listed file that is a symbolic link, even to identical bytes outside the pack', async () => {
    const dir = fresh();
    const outside = path.join(work, 'lm-outside.onnx');
    copyFileSync(path.join(dir, 'lm.onnx'), outside);
    unlinkSync(path.join(dir, 'lm.onnx'));
    symlinkSync(outside, path.join(dir, 'lm.onnx'));
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_SYMLINK' });
    if (!r.ok) expect(r.message).toMatch(/lm\.onnx is a symbolic link/);
    await expect(loadPack(dir, { provider: 'cpu' })).rejects.toMatchObject({ code: 'PACK_SYMLINK' });
  });

  it('refuses a symbolic link anywhere in the pack, listed or not', async () => {
    const dir = fresh();
    symlinkSync('/etc/passwd', path.join(dir, 'notes.txt'));
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_SYMLINK' });
    if (!r.ok) expect(r.message).toContain('notes.txt');
  });

  it('a pack verified earlier and swapped for a link before loading is refused, not run', async () => {
    const dir = fresh();
    const verified = await verifyPack(dir);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    // Between the check and the load: lm.onnx becomes a link to another pack's graph (same size).
    unlinkSync(path.join(dir, 'lm.onnx'));
    symlinkSync(path.join(packB.dir, 'lm.onnx'), path.join(dir, 'lm.onnx'));
    await expect(loadPack(dir, { verified, provider: 'cpu', threads: 1 })).rejects.toMatchObject({ code: 'PACK_SYMLINK' });
  });

  it('loads the bytes it hashed even when the files change after verification', async () => {
    const dir = fresh();
    const verified = await verifyPack(dir, { keepContents: true });
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    // After hashing, before ONNX Runtime and the tokenizer read anything: other graph bytes (same size,
    // so no size check can notice) and a tokenizer that does not parse.
    writeFileSync(path.join(dir, 'lm.onnx'), readFileSync(path.join(packB.dir, 'lm.onnx')));
    writeFileSync(path.join(dir, 'tokenizer.json'), '{ "not": "a tokenizer" }');
    const rt = await loadPack(dir, { verified, provider: 'cpu', threads: 1 });
    try {
      expect(await answerLogits(rt)).toEqual(logitsA);
    } finally {
      await rt.close();
    }
    // The swapped graph really computes something else: had it been loaded, the logits would differ.
    const rtB = await loadPack(packB.dir, { provider: 'cpu', threads: 1 });
    try {
      expect(await answerLogits(rtB)).not.toEqual(logitsA);
    } finally {
      await rtB.close();
    }
  });
});
