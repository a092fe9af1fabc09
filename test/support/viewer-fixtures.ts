import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_PYTHON = process.env.HEALTHGPT_SYSTEM_PYTHON ?? '/usr/bin/python3';

/**
 * Writes the viewer's known-geometry CT series (test/fixtures/viewer/make_viewer_series.py, pydicom)
 * into a fresh temporary folder and returns it.
 */
export function makeViewerSeries(kind: 'pair' | 'bench', slices = 300): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `healthgpt-viewer-${kind}-`));
  const args = [path.resolve('test/fixtures/viewer/make_viewer_series.py'), dir, kind];
  if (kind === 'bench') args.push(String(slices));
  execFileSync(SYSTEM_PYTHON, args, { stdio: 'inherit' });
  return dir;
}
