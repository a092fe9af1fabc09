import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main';
import { cachedTinyPack, writeTestPng, type BuiltPack } from './pack-fixture';
import { DEMONSTRATION_REPORT_WARNING } from '../../../src-shared/question-types';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('CLI: pack verify, ask, generate', () => {
  let pack: BuiltPack;
  let png: string;
  const prevDataDir = process.env.HEALTHGPT_DATA_DIR;
  beforeAll(() => {
    pack = cachedTinyPack();
    png = path.join(pack.root, 'in.png');
    writeTestPng(png, 50, 36, 2);
    process.env.HEALTHGPT_DATA_DIR = mkdtempSync(path.join(tmpdir(), 'hgpt-cli-data-'));
  });
  afterAll(() => {
    if (process.env.HEALTHGPT_DATA_DIR?.includes('hgpt-cli-data-')) rmSync(process.env.HEALTHGPT_DATA_DIR, { recursive: true, force: true });
    if (prevDataDir === undefined) delete process.env.HEALTHGPT_DATA_DIR;
    else process.env.HEALTHGPT_DATA_DIR = prevDataDir;
    pack?.cleanup();
  });

  it('pack verify --json: OK for an intact pack, exit 1 with the problem for a tampered one', async () => {
    const ok = await cli(['pack', 'verify', pack.dir, '--json']);
    expect(ok.code).toBe(0);
    const v = JSON.parse(ok.out) as { ok: boolean; name: string; tasks: string[] };
    expect(v).toMatchObject({ ok: true, name: 'random-tiny' });
    expect(v.tasks).toContain('ct2mri');
    const manifest = path.join(pack.dir, 'manifest.json');
    const original = readFileSync(manifest, 'utf8');
    try {
      writeFileSync(manifest, original.replace('"numLayers": 2', '"numLayers": "two"'));
      const bad = await cli(['pack', 'verify', pack.dir, '--json']);
      expect(bad.code).toBe(1);
      const e = JSON.parse(bad.out) as { ok: boolean; error: { code: string; message: string } };
      expect(e.error.code).toBe('PACK_SCHEMA');
      expect(e.error.message).toContain('numLayers');
    } finally {
      writeFileSync(manifest, original);
    }
  });

  it('ask --json returns the answer with the pack, provider and timings, and the run it recorded', async () => {
    const r = await cli(['ask', '--pack', pack.dir, '--image', png, '--question', 'Is there a lesion?', '--max-tokens', '5', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out) as { ok: boolean; tokens: number[]; provider: string; pack: { demonstration: boolean }; text: string; runId: string };
    expect(v.runId).toMatch(/^run-/);
    const listed = await cli(['history', 'list', '--json']);
    expect(listed.out).toContain('in.png');
    expect(v.ok).toBe(true);
    expect(v.tokens.length).toBeGreaterThan(0);
    expect(v.tokens.length).toBeLessThanOrEqual(5);
    expect(v.provider).toBe('cpu');
    expect(v.pack.demonstration).toBe(true);
  });

  it('ask --task report from a demonstration pack: the warning is inside the text, in --json and printed, as in the window', async () => {
    const r = await cli(['ask', '--pack', pack.dir, '--image', png, '--task', 'report', '--max-tokens', '4', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out) as { text: string; runId: string };
    expect(v.text.startsWith(DEMONSTRATION_REPORT_WARNING)).toBe(true);
    const plain = await cli(['ask', '--pack', pack.dir, '--image', png, '--task', 'report', '--max-tokens', '4']);
    expect(plain.out.startsWith(DEMONSTRATION_REPORT_WARNING)).toBe(true);
  });

  it('generate --task sr writes a PNG at 4x the input matrix', async () => {
    const out = path.join(pack.root, 'sr.png');
    const r = await cli(['generate', '--pack', pack.dir, '--task', 'sr', '--in', png, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out) as { rows: number; cols: number; outputScale: number; aiGenerated: boolean };
    expect(v).toMatchObject({ rows: 144, cols: 200, outputScale: 4, aiGenerated: true });
    const img = PNG.sync.read(readFileSync(out));
    expect([img.width, img.height]).toEqual([200, 144]);
  });

  it('usage errors exit 2 with a message', async () => {
    const r = await cli(['generate', '--pack', pack.dir, '--task', 'paint', '--in', png, '--out', 'x.png', '--json']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--task must be');
  });
});
