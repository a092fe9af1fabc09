import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_PYTHON } from './viewer-fixtures';

/** What write_big_study.py wrote for one object, in slice order (positions z ascending). */
export interface BigStudyObject {
  seriesUid: string;
  positionsZ: number[];
  /** Sum of the stored values of each slice. */
  sliceSums: number[];
}

export interface BigStudy {
  dir: string;
  /** `dir/series`: the single-frame thin-section series. */
  seriesDir: string;
  /** `dir/enhanced.dcm`: the enhanced multi-frame CT (absent when frames = 0). */
  enhancedFile: string;
  series: BigStudyObject & { x0: number; y0: number; spacing: number; fileOfSlice: string[] };
  enhanced?: BigStudyObject & { storedFrameOfSlice: number[]; seriesIndexOfSlice: number[] };
}

/**
 * Writes the thin-section CT series (`slices` files of size x size) and the enhanced multi-frame CT
 * (`frames` frames, stored out of order) from Colin27 into a fresh temporary folder
 * (test/fixtures/dicom/write_big_study.py). The caller removes `dir`.
 */
export function makeBigStudy(size: number, slices: number, frames: number): BigStudy {
  const dir = mkdtempSync(path.join(os.tmpdir(), `healthgpt-big-${size}-`));
  const script = path.resolve(import.meta.dirname, '../fixtures/dicom/write_big_study.py');
  execFileSync(SYSTEM_PYTHON, [script, dir, String(size), String(slices), String(frames)], { stdio: 'inherit', timeout: 600_000 });
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Pick<BigStudy, 'series' | 'enhanced'>;
  return { dir, seriesDir: path.join(dir, 'series'), enhancedFile: path.join(dir, 'enhanced.dcm'), ...expected };
}
