/**
 * Security issue #14, finding 4: small files that cost huge memory. A 39 KB-class file claiming ~10^12
 * frames, a deflated file of ~1 MB inflating to 1,000 MB, and a sparse 1.9 GB file are each imported and
 * probed through the DICOM service in a child process: each gets a clear per-file error, the process
 * lives, and its peak RSS stays under a generous bound (a correctness bound, not a speed goal).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportEntry, ProbeEntry } from '../../../src-shared/contracts/dicom';
import { absurdFrameCountFile, deflateBombFile, writeSparseBigFile } from './hostile-files';

/** Node, tsx, the service and two worker threads take ~250 MB; the hostile files took 2.3-3.3 GB. */
const PEAK_RSS_BOUND_MB = 800;

interface ChildReport {
  importStatus: string;
  importEntries: ImportEntry[];
  probe: ProbeEntry[];
  peakRssMb: number;
}

function runChild(file: string): ChildReport {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'memory-child.ts'), file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
  return JSON.parse(out) as ChildReport;
}

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'dicom-memory-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('memory per hostile DICOM file', () => {
  it('refuses a tiny file claiming 999999999999 frames before allocating for them', () => {
    const file = path.join(scratch, 'frames.dcm');
    writeFileSync(file, absurdFrameCountFile());
    const r = runChild(file);
    expect(r.importStatus).toBe('done');
    expect(r.importEntries).toHaveLength(1);
    expect(r.importEntries[0]).toMatchObject({ status: 'error', problem: 'wrong-pixel-length' });
    expect(r.importEntries[0]?.message).toMatch(/999999999999 frame/);
    expect(r.probe[0]).toMatchObject({ ok: false, problem: 'wrong-pixel-length', rows: 8, columns: 8 });
    expect(r.peakRssMb).toBeLessThan(PEAK_RSS_BOUND_MB);
  });

  it('refuses a deflated data set inflating far beyond its declared pixel data', () => {
    const file = path.join(scratch, 'bomb.dcm');
    const bytes = deflateBombFile(1000);
    expect(bytes.length).toBeLessThan(1.5 * 1024 * 1024);
    writeFileSync(file, bytes);
    const r = runChild(file);
    expect(r.importEntries[0]).toMatchObject({ status: 'error', problem: 'too-large' });
    expect(r.importEntries[0]?.message).toMatch(/inflates to more than/);
    expect(r.probe[0]).toMatchObject({ ok: false, problem: 'too-large' });
    expect(r.peakRssMb).toBeLessThan(PEAK_RSS_BOUND_MB);
  });

  it('refuses a 1.9 GB file by its size without reading it, naming what its header says', () => {
    const file = path.join(scratch, 'sparse.dcm');
    writeSparseBigFile(file, 1.9e9);
    const r = runChild(file);
    for (const message of [r.importEntries[0]?.message, r.probe[0]?.error]) {
      expect(message).toMatch(/1\.9 GB/);
      expect(message).toMatch(/not read/);
      expect(message).toMatch(/OT image, 8x8/);
    }
    expect(r.importEntries[0]).toMatchObject({ status: 'error', problem: 'too-large' });
    expect(r.probe[0]).toMatchObject({ ok: false, problem: 'too-large' });
    expect(r.peakRssMb).toBeLessThan(PEAK_RSS_BOUND_MB);
  });
});
