import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPack } from '../../../src-main/model/pack-verify';
import { PYTHON } from './pack-fixture';

// The exporter's signing tool (model/healthgpt/sign.py) writes a manifest.sig the app accepts.
const REPO = path.resolve(__dirname, '../../..');
const NANO = path.join(REPO, 'resources/packs/healthgpt-nano');

describe('packs signed by model/healthgpt/sign.py', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'hgpt-pysign-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('verify against the trusted-keys entry keygen prints; an altered manifest is refused', async () => {
    const pack = path.join(work, 'pack');
    cpSync(NANO, pack, { recursive: true });
    const keyPath = path.join(work, 'signing-key.pem');
    const py = (args: string[]): string => execFileSync(PYTHON, ['-m', 'model.healthgpt.sign', ...args], { cwd: REPO, encoding: 'utf8' });
    const entry = JSON.parse(py(['keygen', '--private', keyPath, '--key-id', 'hospital-2026'])) as { keyId: string; publicKey: string };
    py(['sign', pack, '--key', keyPath, '--key-id', 'hospital-2026']);

    const good = await verifyPack(pack, { trustedKeys: { keys: [entry] }, requireSignature: true });
    expect(good.ok && good.signature).toEqual({ present: true, valid: true, keyId: 'hospital-2026' });

    const manifestPath = path.join(pack, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestPath, JSON.stringify({ ...m, version: '9.9.9' }, null, 2));
    expect(await verifyPack(pack, { trustedKeys: { keys: [entry] } })).toMatchObject({ ok: false, code: 'PACK_SIGNATURE_INVALID' });
  });
});
