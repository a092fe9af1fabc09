import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { inject } from 'vitest';

export const PYTHON = '/usr/bin/python3';
/** The repository root: the Python tooling runs from here as the `model` package. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface BuiltPack {
  root: string;
  dir: string;
  reference: string;
  cleanup(): void;
}

/** Builds a RANDOM-weight pack with model/healthgpt/export.py in a temp folder (never committed). */
export function buildRandomPack(preset: 'tiny' | 'medium' | 'phi3-width' = 'tiny', seed = 0, extra: string[] = []): BuiltPack {
  const root = mkdtempSync(path.join(tmpdir(), `hgpt-${preset}-`));
  const dir = path.join(root, 'pack');
  const reference = path.join(root, 'reference.pt');
  execFileSync(PYTHON, ['-m', 'model.healthgpt.export', '--out', dir, '--preset', preset, '--seed', String(seed), '--reference', reference, ...extra], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { root, dir, reference, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A private copy of the run's tiny random pack (test/support/random-pack-setup.ts built it once): the
 * test may change or delete its copy; a copy costs milliseconds where a build costs a Python start.
 */
export function cachedTinyPack(): BuiltPack {
  const root = mkdtempSync(path.join(tmpdir(), 'hgpt-tiny-copy-'));
  cpSync(inject('tinyPackRoot'), root, { recursive: true });
  return { root, dir: path.join(root, 'pack'), reference: path.join(root, 'reference.pt'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs the PyTorch reference CLI on a request and returns its JSON answer. */
export function runReference<T>(pack: BuiltPack, request: object): T {
  const out = execFileSync(PYTHON, ['-m', 'model.healthgpt.reference', '--pack', pack.dir, '--weights', pack.reference], {
    cwd: REPO_ROOT,
    input: JSON.stringify(request),
    maxBuffer: 512 * 1024 * 1024,
  });
  return JSON.parse(out.toString('utf8')) as T;
}

/** A deterministic test picture (smooth shapes + noise) written as an 8-bit PNG; grey or RGB. */
export function writeTestPng(file: string, width: number, height: number, seed: number, colour = false): void {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - width / 2, y - height / 2) / Math.max(width, height);
      const base = 128 + 100 * Math.cos(r * 12 + seed) + 20 * (rnd() - 0.5);
      const i = (y * width + x) * 4;
      const g = Math.max(0, Math.min(255, Math.round(base)));
      png.data[i] = g;
      png.data[i + 1] = colour ? Math.max(0, Math.min(255, Math.round(255 - base + 30 * rnd()))) : g;
      png.data[i + 2] = colour ? Math.round((x / width) * 255) : g;
      png.data[i + 3] = 255;
    }
  }
  writeFileSync(file, PNG.sync.write(png, { colorType: colour ? 2 : 0 }));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
