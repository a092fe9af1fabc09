import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, signPackManifest, verifyPack } from '../../../src-main/model/pack-verify';
import { loadPack } from '../../../src-main/model/runtime';
import { cachedTinyPack, type BuiltPack } from './pack-fixture';

describe('model pack verification', () => {
  let built: BuiltPack;
  let work: string;
  let n = 0;
  const fresh = (): string => {
    const dir = path.join(work, `p${n++}`);
    cpSync(built.dir, dir, { recursive: true });
    return dir;
  };
  const editManifest = (dir: string, edit: (m: Record<string, unknown>) => void): void => {
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(m);
    writeFileSync(file, JSON.stringify(m, null, 2));
  };

  beforeAll(() => {
    built = cachedTinyPack();
    work = mkdtempSync(path.join(tmpdir(), 'hgpt-verify-'));
  });
  afterAll(() => {
    built?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('accepts an intact pack and reports its manifest', async () => {
    const r = await verifyPack(built.dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest.intendedUse.demonstration).toBe(true);
    expect(r.manifest.files.length).toBeGreaterThan(8);
    expect(r.signature).toEqual({ present: false, valid: false });
    expect(r.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a tampered file (same size, one byte changed), naming the file', async () => {
    const dir = fresh();
    const f = path.join(dir, 'lm.onnx');
    const b = readFileSync(f);
    b[b.length - 10] = (b[b.length - 10] ?? 0) ^ 0xff;
    writeFileSync(f, b);
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_HASH_MISMATCH' });
    if (!r.ok) expect(r.message).toContain('lm.onnx');
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'PACK_HASH_MISMATCH' });
  });

  it('refuses a truncated file', async () => {
    const dir = fresh();
    truncateSync(path.join(dir, 'vq_decoder.onnx'), 1000);
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_SIZE_MISMATCH' });
    if (!r.ok) expect(r.message).toMatch(/vq_decoder\.onnx has 1000 bytes/);
  });

  it('refuses a pack with a missing file', async () => {
    const dir = fresh();
    unlinkSync(path.join(dir, 'tokenizer.json'));
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_MISSING_FILE' });
    if (!r.ok) expect(r.message).toContain('tokenizer.json');
  });

  it('refuses a manifest with the wrong schema, naming the field', async () => {
    const dir = fresh();
    editManifest(dir, (m) => {
      (m.architecture as Record<string, unknown>).hiddenSize = 'big';
    });
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
    if (!r.ok) expect(r.message).toContain('architecture.hiddenSize');
    const dir2 = fresh();
    editManifest(dir2, (m) => {
      (m.intendedUse as Record<string, unknown>).text = 'general use';
    });
    const r2 = await verifyPack(dir2);
    expect(r2).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
    if (!r2.ok) expect(r2.message).toContain('not for clinical use');
    const dir4 = fresh();
    editManifest(dir4, (m) => {
      const arch = m.architecture as { vq: Record<string, unknown>; vision: { imageSize: number } };
      arch.vq.sourceGuided = true;
      arch.vq.imageSize = arch.vision.imageSize + 8;
    });
    const r4 = await verifyPack(dir4);
    expect(r4).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
    if (!r4.ok) expect(r4.message).toContain('source-guided');
    const dir3 = fresh();
    writeFileSync(path.join(dir3, 'manifest.json'), '{ not json');
    expect(await verifyPack(dir3)).toMatchObject({ ok: false, code: 'PACK_MANIFEST_UNREADABLE' });
  });

  it('refuses a file path that escapes the pack', async () => {
    const dir = fresh();
    editManifest(dir, (m) => {
      (m.files as Array<Record<string, unknown>>)[0]!.path = '../outside.json';
    });
    const r = await verifyPack(dir);
    expect(r).toMatchObject({ ok: false, code: 'PACK_SCHEMA' });
  });

  it('checks the Ed25519 signature against the trusted keys, and the policy can require it', async () => {
    const keys = generateSigningKeys();
    const other = generateSigningKeys();
    const trustedKeysPath = path.join(work, 'trusted-keys.json');
    writeFileSync(trustedKeysPath, JSON.stringify({ keys: [{ keyId: 'vendor-2026', publicKey: keys.publicKeyPem }] }));

    const unsigned = fresh();
    expect(await verifyPack(unsigned, { trustedKeysPath, requireSignature: true })).toMatchObject({ ok: false, code: 'PACK_SIGNATURE_MISSING' });

    const signed = fresh();
    signPackManifest(signed, keys.privateKeyPem, 'vendor-2026');
    const good = await verifyPack(signed, { trustedKeysPath, requireSignature: true });
    expect(good.ok && good.signature).toEqual({ present: true, valid: true, keyId: 'vendor-2026' });

    // manifest altered after signing (e.g. a hash swapped to match a replaced file)
    const altered = fresh();
    signPackManifest(altered, keys.privateKeyPem, 'vendor-2026');
    editManifest(altered, (m) => {
      m.version = '9.9.9';
    });
    const bad = await verifyPack(altered, { trustedKeysPath });
    expect(bad).toMatchObject({ ok: false, code: 'PACK_SIGNATURE_INVALID' });
    if (!bad.ok) expect(bad.message).toContain('vendor-2026');

    // signed with a key claiming a trusted id but made by someone else
    const forged = fresh();
    signPackManifest(forged, other.privateKeyPem, 'vendor-2026');
    expect(await verifyPack(forged, { trustedKeysPath })).toMatchObject({ ok: false, code: 'PACK_SIGNATURE_INVALID' });

    // signed by a key the app does not trust: refused only where policy requires a trusted signature
    const stranger = fresh();
    signPackManifest(stranger, other.privateKeyPem, 'someone-else');
    const lax = await verifyPack(stranger, { trustedKeysPath });
    expect(lax.ok && lax.signature).toEqual({ present: true, valid: false, keyId: 'someone-else' });
    expect(await verifyPack(stranger, { trustedKeysPath, requireSignature: true })).toMatchObject({ ok: false, code: 'PACK_UNTRUSTED_KEY' });

    // raw 32-byte base64 public keys are accepted too
    const raw = Buffer.from(keys.publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').subarray(12).toString('base64');
    const viaRaw = await verifyPack(signed, { trustedKeys: { keys: [{ keyId: 'vendor-2026', publicKey: raw }] }, requireSignature: true });
    expect(viaRaw.ok).toBe(true);
  });

  it('refuses a folder that is not there', async () => {
    expect(await verifyPack(path.join(work, 'nope'))).toMatchObject({ ok: false, code: 'PACK_NOT_FOUND' });
  });
});
