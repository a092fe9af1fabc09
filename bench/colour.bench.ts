/**
 * Colour benchmarks: open-to-first-pixels for a 2048x2048 RGB image (skimage's ihc.png tiled 4x4, as
 * PNG, JPEG q90 and LZW TIFF written by Pillow): import through the DicomService (decode, wrap as
 * secondary capture, index) until getFrame returns the pixels; cold (fresh service, workers starting)
 * and warm. Also the CIEDE2000 ΔE map over the whole 2048² pair, and the viewer's ΔE field for a
 * 1024x768 pane at step 2.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deltaE2000Map } from '../src-shared/colour/colour-difference';
import { deltaEField } from '../src-renderer/viewer/colour-difference-field';
import { createDicomService } from '../src-main/dicom/dicom-service';
import { JobManager } from '../src-main/jobs/job-manager';
import { percentile, type BenchRow } from './bench-types';

const MAKE = `
import sys, os, numpy as np, skimage
from PIL import Image
out = sys.argv[1]
ihc = np.asarray(Image.open(os.path.join(os.path.dirname(skimage.__file__), 'data', 'ihc.png')).convert('RGB'))
big = np.tile(ihc, (4, 4, 1))
Image.fromarray(big).save(os.path.join(out, 'big.png'))
Image.fromarray(big).save(os.path.join(out, 'big.jpg'), quality=90)
Image.fromarray(big).save(os.path.join(out, 'big.tif'), compression='tiff_lzw')
np.ascontiguousarray(big).tofile(os.path.join(out, 'big.rgb'))
`;

const sink = { id: 'bench', send: () => {}, isAlive: () => true };

async function openToFirstPixels(file: string, dataDir: string, warmService: boolean): Promise<number> {
  const jobs = new JobManager();
  const service = createDicomService({ jobs, dataDir });
  if (warmService) await service.warm();
  try {
    const start = performance.now();
    const started = service.import([file], sink);
    const final = await jobs.wait(started.jobId);
    const uid = final.status === 'done' ? (final.result as { seriesUids: string[] }).seriesUids[0] : undefined;
    if (!uid) throw new Error(`${path.basename(file)} did not import`);
    const frame = await service.getFrame(uid, 0);
    if (frame.rows !== 2048 || !frame.color) throw new Error('unexpected frame');
    return performance.now() - start;
  } finally {
    await service.close();
  }
}

export async function runColourBenchmarks(): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'colour-bench-'));
  const rows: BenchRow[] = [];
  try {
    execFileSync('/usr/bin/python3', ['-c', MAKE, dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    for (const ext of ['png', 'jpg', 'tif']) {
      const file = path.join(dir, `big.${ext}`);
      const cold: number[] = [];
      const warm: number[] = [];
      for (let k = 0; k < 3; k += 1) {
        cold.push(await openToFirstPixels(file, path.join(dir, `data-cold-${ext}-${k}`), false));
        warm.push(await openToFirstPixels(file, path.join(dir, `data-warm-${ext}-${k}`), true));
      }
      rows.push({ benchmark: 'colour-open', metric: `2048² RGB ${ext.toUpperCase()} open→first pixels (cold)`, value: percentile(cold, 50), unit: 'ms', note: `median of 3, fresh service incl. worker start; all: ${cold.map((v) => v.toFixed(0)).join('/')}` });
      rows.push({ benchmark: 'colour-open', metric: `2048² RGB ${ext.toUpperCase()} open→first pixels (warm)`, value: percentile(warm, 50), unit: 'ms', note: `median of 3, workers started; all: ${warm.map((v) => v.toFixed(0)).join('/')}` });
    }
    const a = new Uint8Array(readFileSync(path.join(dir, 'big.rgb')));
    const b = a.map((v, i) => (i % 7 === 0 ? Math.min(255, v + 9) : v));
    const t0 = performance.now();
    deltaE2000Map(a, b, 2048 * 2048);
    rows.push({ benchmark: 'colour-deltae', metric: 'CIEDE2000 map 2048² (4.2 Mpx)', value: performance.now() - t0, unit: 'ms', note: 'src-shared deltaE2000Map, one thread' });
    const rgba = new Uint8Array(2048 * 2048 * 4);
    for (let i = 0; i < 2048 * 2048; i += 1) rgba.set([a[i * 3]!, a[i * 3 + 1]!, a[i * 3 + 2]!, 255], i * 4);
    const plane = { rows: 2048, columns: 2048, pixelSpacing: [1, 1], imagePositionPatient: [0.5, 0.5, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
    const times: number[] = [];
    for (let k = 0; k < 5; k += 1) {
      const t = performance.now();
      deltaEField({ plane, pixels: rgba }, { scale: 0.5, translation: { x: 0, y: 0 } }, { plane, pixels: rgba }, { width: 1024, height: 768 }, 2);
      times.push(performance.now() - t);
    }
    rows.push({ benchmark: 'colour-deltae', metric: 'viewer ΔE field 1024x768 pane, step 2', value: percentile(times, 50), unit: 'ms', note: 'median of 5 (recomputed on each render of the difference mode)' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
