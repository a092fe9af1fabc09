import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_PYTHON = process.env.HEALTHGPT_SYSTEM_PYTHON ?? '/usr/bin/python3';
export const NANO_PACK = path.resolve('resources/packs/healthgpt-nano');
export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/**
 * The real series of test/fixtures/dicom/write_series.py in a temp folder: mr_axial (Colin27 MRI) and
 * ct_series (from CT_small); with `bench`, mr_bench100 and ct_bench100 (100 slices each) instead.
 */
export function makeWorkflowSeries(bench = false): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-series-'));
  execFileSync(SYSTEM_PYTHON, [path.resolve('test/fixtures/dicom/write_series.py'), dir, ...(bench ? ['--workflow-bench'] : [])], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return dir;
}

export interface WorkflowPack {
  /** The pack folder to use (the shipped nano pack, or a random-weight pack built for this run). */
  dir: string;
  name: string;
  /** The shipped pack in resources/packs (found there by the app itself). */
  nano: boolean;
  /** Random weights (built for this run): answers and images are noise. */
  random: boolean;
}

/**
 * The shipped demonstration pack when it is present (resources/packs/healthgpt-nano), else a tiny
 * RANDOM-weight pack built now with model/healthgpt/export.py (tests only; never committed).
 */
export function workflowPack(): WorkflowPack {
  // HEALTHGPT_E2E_PACK=<folder>: any other pack (copied into the data folder), e.g. a freshly trained one.
  const other = process.env.HEALTHGPT_E2E_PACK;
  if (other) return { dir: path.resolve(other), name: String((JSON.parse(readFileSync(path.join(other, 'manifest.json'), 'utf8')) as { name?: unknown }).name), nano: false, random: false };
  if (existsSync(path.join(NANO_PACK, 'manifest.json')) && !process.env.HEALTHGPT_E2E_RANDOM_PACK) return { dir: NANO_PACK, name: 'healthgpt-nano', nano: true, random: false };
  return randomPack();
}

/**
 * A tiny RANDOM-weight pack: its answers are random tokens that run to the length limit, so a streamed
 * answer lasts long enough to watch it grow and to cancel it (a trained pack answers in a few ms).
 */
export function randomPack(): WorkflowPack {
  const root = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-pack-'));
  const dir = path.join(root, 'random-tiny');
  execFileSync(SYSTEM_PYTHON, ['-m', 'model.healthgpt.export', '--out', dir, '--preset', 'tiny', '--seed', '3'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return { dir, name: 'random-tiny', nano: false, random: true };
}

/**
 * Browser-mode folders for a pack: a fresh data folder holding a copy of the pack in <data>/packs, and an
 * empty resources folder (so the shipped pack is not found beside it). `pack: null` gives no pack at all.
 */
export function packFolders(pack: WorkflowPack | null, options: { tamper?: boolean } = {}): { dataDir: string; resourcesDir: string; packDir: string | null } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-data-'));
  const resourcesDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-wf-res-'));
  if (!pack) return { dataDir, resourcesDir, packDir: null };
  const packDir = path.join(dataDir, 'packs', path.basename(pack.dir));
  mkdirSync(path.dirname(packDir), { recursive: true });
  cpSync(pack.dir, packDir, { recursive: true });
  if (options.tamper) flipByteOfLargestFile(packDir);
  return { dataDir, resourcesDir, packDir };
}

/** Flips one byte in the middle of the pack's largest file (a weights file): its hash no longer matches. */
export function flipByteOfLargestFile(dir: string): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(dir);
  const target = files.filter((f) => !f.endsWith('manifest.json')).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!target) throw new Error(`no file to tamper with in ${dir}`);
  const at = Math.floor(statSync(target).size / 2);
  const fd = openSync(target, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = (b[0] ?? 0) ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return target;
}

/** dciodvfy's verdict on one file (it reports on stderr, exit status 1 on findings): Error and Warning lines. */
export function dciodvfy(file: string): { errors: string[]; warnings: string[]; output: string } {
  let output: string;
  try {
    output = execFileSync('sh', ['-c', 'dciodvfy "$1" 2>&1', 'sh', file], { encoding: 'utf8' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? '');
  }
  const lines = output.split('\n');
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)), output };
}
