import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main';
import { ensureGeneratedSeries } from '../dicom/fixtures';

// The CLI's confidence and cycle figures on the shipped nano pack and a real CT slice.
const REPO = path.resolve(import.meta.dirname, '../../..');
const PACK = path.join(REPO, 'resources/packs/healthgpt-nano');
const CT = path.join(REPO, 'test/fixtures/generated/ct_series/IM0004.dcm');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('CLI: generate --json confidence, generate --cycle, ask --json confidence (nano pack, CT slice)', () => {
  let dir: string;
  const prevDataDir = process.env.HEALTHGPT_DATA_DIR;
  beforeAll(() => {
    ensureGeneratedSeries();
    dir = mkdtempSync(path.join(tmpdir(), 'hgpt-cycle-'));
    process.env.HEALTHGPT_DATA_DIR = path.join(dir, 'data');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (prevDataDir === undefined) delete process.env.HEALTHGPT_DATA_DIR;
    else process.env.HEALTHGPT_DATA_DIR = prevDataDir;
  });

  it('ct2mri --cycle reports the confidence map file and the round trip difference in HU inside the body mask', async () => {
    const out = path.join(dir, 'mri.png');
    const r = await cli(['generate', '--pack', PACK, '--task', 'ct2mri', '--in', CT, '--out', out, '--cycle', '--provider', 'cpu', '--json']);
    expect(r.code, r.err).toBe(0);
    const v = JSON.parse(r.out) as {
      rows: number; cols: number;
      confidence: { meanProbability: number; meanEntropyFraction: number; lowFraction: number; map: string };
      cycle: { reverseTask: string; unit: string; meanAbsDifference: number; maskFraction: number; differenceMap: string };
    };
    expect(v.confidence.meanProbability > 0 && v.confidence.meanProbability <= 1).toBe(true);
    expect(v.confidence.meanEntropyFraction >= 0 && v.confidence.meanEntropyFraction <= 1).toBe(true);
    const map = PNG.sync.read(readFileSync(v.confidence.map));
    expect([map.height, map.width]).toEqual([v.rows, v.cols]);
    expect(v.cycle).toMatchObject({ reverseTask: 'mri2ct', unit: 'HU' });
    // a real CT slice: most of the field is body; the difference is in HU, within the window's 400 HU
    expect(v.cycle.maskFraction).toBeGreaterThan(0.2);
    expect(v.cycle.meanAbsDifference > 0 && v.cycle.meanAbsDifference < 400).toBe(true);
    const diff = PNG.sync.read(readFileSync(v.cycle.differenceMap));
    expect([diff.height, diff.width]).toEqual([v.rows, v.cols]);
  }, 300_000);

  it('refuses --cycle for a task with no reverse, with a clear message', async () => {
    const r = await cli(['generate', '--pack', PACK, '--task', 'sr', '--in', CT, '--out', path.join(dir, 'sr.png'), '--cycle']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--cycle is for ct2mri and mri2ct/);
  });

  it('ask --json carries the answer confidence over spans of the printed text', async () => {
    const r = await cli(['ask', '--pack', PACK, '--image', CT, '--question', 'What modality is this?', '--max-tokens', '16', '--provider', 'cpu', '--json']);
    expect(r.code, r.err).toBe(0);
    const v = JSON.parse(r.out) as { text: string; confidence: { overall: number; words: Array<{ text: string; start: number; end: number; probability: number }> } };
    expect(v.confidence.overall > 0 && v.confidence.overall <= 1).toBe(true);
    expect(v.confidence.words.length).toBeGreaterThan(0);
    for (const w of v.confidence.words) expect(v.text.slice(w.start, w.end)).toBe(w.text);
  }, 120_000);
});
