import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packMemoryNeed } from '../../../src-main/model/pack-memory';
import { verifyPack } from '../../../src-main/model/pack-verify';
import { loadPack } from '../../../src-main/model/runtime';
import { cachedTinyPack, type BuiltPack } from './pack-fixture';

/** The hash cache (pack-hash-cache.ts) on the run's tiny random pack: skips only what is unchanged. */
describe('pack hash cache', () => {
  let built: BuiltPack;
  let work: string;
  let n = 0;
  const fresh = (): { dir: string; hashCachePath: string } => {
    const dir = path.join(work, `p${n}`);
    cpSync(built.dir, dir, { recursive: true });
    return { dir, hashCachePath: path.join(work, `cache${n++}.json`) };
  };

  beforeAll(() => {
    built = cachedTinyPack();
    work = mkdtempSync(path.join(tmpdir(), 'hgpt-hashcache-'));
  });
  afterAll(() => {
    built?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('hashes every file on the first open and none on the second', async () => {
    const { dir, hashCachePath } = fresh();
    const first = await verifyPack(dir, { hashCachePath });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.hashed.sort()).toEqual(first.manifest.files.map((f) => f.path).sort());
    const second = await verifyPack(dir, { hashCachePath, keepContents: true });
    expect(second.ok && second.hashed).toEqual([]);
    // the kept bytes are still the real files' bytes
    if (second.ok) expect(Buffer.from(second.contents!.get('lm.onnx')!).equals(readFileSync(path.join(dir, 'lm.onnx')))).toBe(true);
    // without a cache every open hashes everything
    const uncached = await verifyPack(dir);
    expect(uncached.ok && uncached.hashed.length).toBe(first.manifest.files.length);
  });

  it('re-hashes a file whose mtime changed (same bytes) and accepts it', async () => {
    const { dir, hashCachePath } = fresh();
    expect((await verifyPack(dir, { hashCachePath })).ok).toBe(true);
    const f = path.join(dir, 'tokenizer.json');
    const later = new Date(statSync(f).mtimeMs + 5000);
    utimesSync(f, later, later);
    const r = await verifyPack(dir, { hashCachePath });
    expect(r.ok && r.hashed).toEqual(['tokenizer.json']);
  });

  it('refuses a tampered file of the same size even when its mtime is put back', async () => {
    const { dir, hashCachePath } = fresh();
    const f = path.join(dir, 'lm.onnx');
    const whole = 1_790_000_000; // whole seconds: utimes can put this mtime back exactly
    utimesSync(f, whole, whole);
    expect((await verifyPack(dir, { hashCachePath })).ok).toBe(true);
    const before = statSync(f, { bigint: true });
    const b = readFileSync(f);
    b[b.length - 10] = (b[b.length - 10] ?? 0) ^ 0xff;
    writeFileSync(f, b);
    utimesSync(f, whole, whole); // size and mtime as before; ctime cannot be put back
    const after = statSync(f, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    const r = await verifyPack(dir, { hashCachePath });
    expect(r).toMatchObject({ ok: false, code: 'PACK_HASH_MISMATCH' });
    if (!r.ok) expect(r.message).toContain('lm.onnx');
    // and stays refused: a refusal is never remembered as good
    expect(await verifyPack(dir, { hashCachePath })).toMatchObject({ ok: false, code: 'PACK_HASH_MISMATCH' });
  });

  it('does not carry a file’s entry over to a different manifest, and survives a damaged cache file', async () => {
    const { dir, hashCachePath } = fresh();
    expect((await verifyPack(dir, { hashCachePath })).ok).toBe(true);
    const mf = path.join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as { version: string; files: unknown[] };
    m.version = '0.0.1';
    writeFileSync(mf, JSON.stringify(m, null, 2));
    const other = await verifyPack(dir, { hashCachePath });
    expect(other.ok && other.hashed.length).toBe(m.files.length);
    writeFileSync(hashCachePath, '{ damaged');
    const again = await verifyPack(dir, { hashCachePath });
    expect(again.ok && again.hashed.length).toBe(m.files.length);
    expect((await verifyPack(dir, { hashCachePath })).ok && (await verifyPack(dir, { hashCachePath }))).toMatchObject({ hashed: [] });
  });
});

describe('pack memory check', () => {
  let built: BuiltPack;
  beforeAll(() => {
    built = cachedTinyPack();
  });
  afterAll(() => built?.cleanup());

  it('refuses to load a pack that needs more memory than is free, before reading it, with a plain message', async () => {
    const r = await verifyPack(built.dir, { keepContents: true, freeMemoryBytes: 1_000_000 });
    expect(r).toMatchObject({ ok: false, code: 'PACK_TOO_LARGE' });
    if (!r.ok) expect(r.message).toMatch(/needs about .* GiB of memory .* 0\.0 GiB free/);
    await expect(loadPack(built.dir, { freeMemoryBytes: 1_000_000 })).rejects.toMatchObject({ code: 'PACK_TOO_LARGE' });
    // the same pack with room loads; verifying without loading never needs the room
    expect((await verifyPack(built.dir, { freeMemoryBytes: 1_000_000 })).ok).toBe(true);
    const plain = await verifyPack(built.dir);
    if (!plain.ok) throw new Error(plain.message);
    const need = packMemoryNeed(plain.manifest);
    expect(need.peakBytes).toBeGreaterThan(need.filesBytes);
    expect((await verifyPack(built.dir, { keepContents: true, freeMemoryBytes: need.peakBytes })).ok).toBe(true);
  });
});
