/** Paths of the real DICOM fixtures (Debian's python3-pydicom and python3-nibabel) and the reference run. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const PYTHON = '/usr/bin/python3';
export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const NIBABEL_NICOM = '/usr/lib/python3/dist-packages/nibabel/nicom/tests/data';
export const NIBABEL_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';
export const OUTPUT = path.join(REPO, 'test-output');

export function fixtureRoots(): string[] {
  const roots = [PYDICOM_FILES, NIBABEL_NICOM].filter((p) => existsSync(p));
  if (existsSync(NIBABEL_DATA)) {
    for (const f of readdirSync(NIBABEL_DATA)) if (f.endsWith('.dcm')) roots.push(path.join(NIBABEL_DATA, f));
  }
  return roots;
}

export interface ReferenceRecord {
  file: string;
  size: number;
  read: 'ok' | 'error';
  error?: string;
  forced?: boolean;
  transferSyntax?: string | null;
  sopClass?: string | null;
  sopInstanceUid?: string | null;
  modality?: string | null;
  rows?: number | null;
  columns?: number | null;
  frames?: number | null;
  pixelSpacing?: [number, number] | null;
  photometric?: string | null;
  samples?: number;
  hasPixels?: boolean;
  pixels?: 'ok' | 'none' | 'error' | 'unsupported';
  pixelError?: string;
  shape?: number[];
  min?: number;
  max?: number;
  mean?: number;
  valuesFile?: string;
}

/** Runs pydicom over every fixture (at test time) and returns its records. */
export function runReference(outDir = path.join(OUTPUT, 'dicom-reference')): { records: ReferenceRecord[]; pydicom: string; outDir: string } {
  mkdirSync(outDir, { recursive: true });
  execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/dicom/pydicom_reference.py'), outDir, ...fixtureRoots()], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  const ref = JSON.parse(readFileSync(path.join(outDir, 'reference.json'), 'utf8')) as { records: ReferenceRecord[]; pydicom: string };
  return { ...ref, outDir };
}

export function readValues(outDir: string, name: string): Float32Array {
  const b = readFileSync(path.join(outDir, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export const GENERATED = path.join(REPO, 'test/fixtures/generated');

export interface ExpectedSeries {
  seriesUid: string;
  count: number;
  rows: number;
  columns: number;
  pixelSpacing: [number, number];
  positions: number[][];
  orientation: number[];
  sliceSums: number[];
}

export function ensureGeneratedSeries(): Record<string, ExpectedSeries> {
  const expectedPath = path.join(GENERATED, 'expected.json');
  if (!existsSync(expectedPath)) {
    execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/dicom/write_series.py'), GENERATED], { stdio: 'inherit', timeout: 300_000 });
  }
  return JSON.parse(readFileSync(expectedPath, 'utf8')) as Record<string, ExpectedSeries>;
}
