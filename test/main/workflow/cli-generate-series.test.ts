import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGeneratedSeries, GENERATED } from '../dicom/fixtures';
import { cachedTinyPack, type BuiltPack } from '../model/pack-fixture';
import { runHealthgptInProcess } from '../../support/cli-runner';

describe('healthgpt generate on a series folder (batch use)', () => {
  let pack: BuiltPack;
  let input: string;
  beforeAll(() => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    input = mkdtempSync(path.join(os.tmpdir(), 'hgpt-cli-series-'));
    mkdirSync(path.join(input, 'series'));
    const source = path.join(GENERATED, 'mr_axial');
    for (const f of readdirSync(source).filter((n) => n.endsWith('.dcm')).slice(0, 6)) cpSync(path.join(source, f), path.join(input, 'series', f));
  }, 300_000);
  afterAll(() => pack?.cleanup());

  it('writes a derived DICOM series with provenance that dciodvfy accepts, and records the run', async () => {
    const out = path.join(input, 'out');
    const data = path.join(input, 'data');
    const r = await runHealthgptInProcess(['generate', '--pack', pack.dir, '--task', 'sr', '--in', path.join(input, 'series'), '--out', out, '--json'], data);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: number; complete: boolean; runId: string; aiGenerated: boolean; input: { images: number } };
    expect(summary).toMatchObject({ files: 6, complete: true, aiGenerated: true, input: { images: 6 } });
    const files = readdirSync(out).filter((n) => n.endsWith('.dcm'));
    expect(files).toHaveLength(6);
    for (const f of files) {
      const v = spawnSync('dciodvfy', [path.join(out, f)], { encoding: 'utf8' });
      expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
      const dump = spawnSync('dcmdump', ['-q', '+P', 'ImageType', '+P', 'DerivationDescription', '+P', 'BurnedInAnnotation', path.join(out, f)], { encoding: 'utf8' });
      expect(dump.stdout).toMatch(/DERIVED\\SECONDARY/);
      expect(dump.stdout).toMatch(/super-resolution by random-tiny/);
      expect(dump.stdout).toMatch(/\[NO\]/);
    }
    const history = await runHealthgptInProcess(['history', 'list', '--json'], data);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('"sr"');
  });

  it('exits non-zero with a clear message on a folder without images', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'hgpt-cli-empty-'));
    const r = await runHealthgptInProcess(['generate', '--pack', pack.dir, '--task', 'sr', '--in', empty, '--out', path.join(empty, 'out'), '--json'], path.join(empty, 'data'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no image series found/);
  });
});
