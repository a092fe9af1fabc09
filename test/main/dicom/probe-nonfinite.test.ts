/**
 * Security issue #14, finding 7: one file whose Rescale Slope overflows the statistics (1e308) made
 * `dicom probe` on its folder fail as a whole, because Infinity is not a number the response schema
 * accepts. Every file must get its own result: the overflowing one an error, the others their statistics.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEntrySchema, type ProbeEntry } from '../../../src-shared/contracts/dicom';
import { runCli } from '../../../src-main/cli/main';
import { dicomFile, imageElements } from './hostile-files';

let dataDir = '';
let folder = '';

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'probe-nonfinite-'));
  folder = path.join(dataDir, 'study');
  process.env.HEALTHGPT_DATA_DIR = path.join(dataDir, 'data');
  mkdirSync(folder);
});

afterAll(() => {
  delete process.env.HEALTHGPT_DATA_DIR;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('dicom probe with a non-finite statistic', () => {
  it('reports the overflowing file as a per-file error and still reports the others', async () => {
    writeFileSync(path.join(folder, 'a-good.dcm'), dicomFile(imageElements({ uid: '1.2.3.1' }), '1.2.3.1'));
    writeFileSync(path.join(folder, 'b-huge-slope.dcm'), dicomFile(imageElements({ uid: '1.2.3.2', rescaleSlope: '1e308' }), '1.2.3.2'));
    writeFileSync(path.join(folder, 'c-good.dcm'), dicomFile(imageElements({ uid: '1.2.3.3', rescaleSlope: '2' }), '1.2.3.3'));
    let out = '';
    let err = '';
    const code = await runCli(['dicom', 'probe', folder, '--json'], { out: (t) => (out += t), err: (t) => (err += t) });
    expect(err).toBe('');
    const entries: ProbeEntry[] = (JSON.parse(out) as unknown[]).map((e) => probeEntrySchema.parse(e));
    expect(entries.map((e) => path.basename(e.path))).toEqual(['a-good.dcm', 'b-huge-slope.dcm', 'c-good.dcm']);
    const [good, huge, scaled] = entries as [ProbeEntry, ProbeEntry, ProbeEntry];
    expect(good).toMatchObject({ ok: true, min: 0, max: 441, rows: 8, columns: 8 });
    expect(scaled).toMatchObject({ ok: true, min: 0, max: 882 });
    expect(huge).toMatchObject({ ok: false, problem: 'decode-failed', min: null, max: null, mean: null, rows: 8, columns: 8 });
    expect(huge.error).toMatch(/Rescale Slope/);
    expect(huge.error).toMatch(/not finite/);
    expect(code).toBe(1);
  });
});
