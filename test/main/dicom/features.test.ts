/**
 * Viewer features on files written from real pixels by write_features.py: MONOCHROME1, multi-valued
 * windows, VOI LUT sequence, Modality LUT sequence, 12-bit signed with junk high bits, signed 8-bit,
 * planar RGB, palette colour,
 * and an enhanced multi-frame MR with functional groups stored out of slice order. Expected values are
 * computed by the writer with numpy, not by a decoder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameSchema } from '../../../src-shared/contracts/dicom';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import { probeFile } from '../../../src-main/dicom/probe';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { PYTHON, REPO } from './fixtures';

const DIR = path.join(REPO, 'test/fixtures/generated/features');

interface Expected {
  min: number;
  max: number;
  mean: number;
  sum?: number;
  invert?: boolean;
  windows?: Array<[number, number, string]>;
  voiLut?: { entries: number; first: number; bits: number; sum: number; explanation: string };
  frameOrder?: number[];
  sliceSums?: number[];
  positionsZ?: number[];
}

const ctx: CallContext = {
  sink: { id: 'features', send: () => {}, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};
let expected: Record<string, Expected>;
let jobs: JobManager;
let service: DicomService;
const seriesOf = new Map<string, string>();

beforeAll(async () => {
  if (!existsSync(path.join(DIR, 'features.json'))) {
    execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/dicom/write_features.py'), DIR], { stdio: 'inherit', timeout: 120_000 });
  }
  expected = JSON.parse(readFileSync(path.join(DIR, 'features.json'), 'utf8')) as Record<string, Expected>;
  jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: null });
  const started = await service.import([DIR], ctx.sink);
  const final: JobFinal = await jobs.wait(started.jobId);
  if (final.status !== 'done') throw new Error(`import ${final.status}`);
  for (const e of (final.result as { entries: Array<{ path: string; seriesUid?: string }> }).entries) {
    if (e.seriesUid) seriesOf.set(path.basename(e.path), e.seriesUid);
  }
}, 180_000);

afterAll(async () => {
  await service?.close();
});

describe('viewer features on real pixels', () => {
  it('decodes every feature file to the values computed by the writer', async () => {
    for (const [name, exp] of Object.entries(expected)) {
      const p = await probeFile(path.join(DIR, name), { keepValues: true });
      expect(p.ok, `${name}: ${p.error}`).toBe(true);
      expect(p.min, name).toBe(exp.min);
      expect(p.max, name).toBe(exp.max);
      expect(Math.abs(p.mean! - exp.mean), name).toBeLessThan(1e-6 * Math.max(1, Math.abs(exp.mean)));
      if (exp.sum !== undefined) expect(p.values!.reduce((a, b) => a + b, 0), name).toBe(exp.sum);
    }
  });

  it('reports MONOCHROME1 for inversion and every window of a multi-valued Window Center/Width', async () => {
    const f = frameSchema.parse(await service.getFrame(seriesOf.get('ct_mono1.dcm')!, 0));
    expect(f.invert).toBe(true);
    expect(f.windows.map((w) => [w.center, w.width, w.explanation])).toEqual(expected['ct_mono1.dcm']!.windows);
  });

  it('carries the VOI LUT sequence to the viewer', async () => {
    const f = await service.getFrame(seriesOf.get('ct_voilut.dcm')!, 0);
    const exp = expected['ct_voilut.dcm']!.voiLut!;
    expect(f.voiLut).not.toBeNull();
    expect([f.voiLut!.data.length, f.voiLut!.firstValueMapped, f.voiLut!.bitsPerEntry, f.voiLut!.explanation]).toEqual([exp.entries, exp.first, exp.bits, exp.explanation]);
    expect(f.voiLut!.data.reduce((a, b) => a + b, 0)).toBe(exp.sum);
    expect(f.windows).toEqual([]);
  });

  it('sign-extends 12-bit data and ignores junk in the unused high bits', async () => {
    const f = await service.getFrame(seriesOf.get('mr_12bit_dirty.dcm')!, 0);
    expect(f.pixels).toBeInstanceOf(Int16Array);
    expect([f.minPixelValue, f.maxPixelValue]).toEqual([expected['mr_12bit_dirty.dcm']!.min, expected['mr_12bit_dirty.dcm']!.max]);
  });

  it('applies a Modality LUT Sequence in main and says so (slope 1, intercept 0)', async () => {
    const f = await service.getFrame(seriesOf.get('mr_modality_lut.dcm')!, 0);
    expect(f.pixels).toBeInstanceOf(Uint16Array);
    expect([f.rescaleSlope, f.rescaleIntercept]).toEqual([1, 0]);
    expect([f.minPixelValue, f.maxPixelValue]).toEqual([expected['mr_modality_lut.dcm']!.min, expected['mr_modality_lut.dcm']!.max]);
  });

  it('turns planar RGB and palette colour into interleaved RGB', async () => {
    for (const name of ['rgb_planar.dcm', 'mr_palette.dcm']) {
      const f = await service.getFrame(seriesOf.get(name)!, 0);
      expect(f.color, name).toBe(true);
      expect(f.pixels, name).toBeInstanceOf(Uint8Array);
      expect(f.pixels.length, name).toBe(f.rows * f.columns * 3);
    }
  });

  it('orders an enhanced multi-frame by its per-frame positions and applies shared functional groups', async () => {
    const exp = expected['enhanced_mr.dcm']!;
    const uid = seriesOf.get('enhanced_mr.dcm')!;
    const d = await service.getSeries(uid);
    expect(d.multiFrame).toBe(true);
    expect(d.sortedBy).toBe('image-position');
    expect(d.images.map((im) => im.imagePositionPatient![2])).toEqual(exp.positionsZ);
    expect(d.images.map((im) => im.frame)).toEqual(exp.positionsZ!.map((_, k) => exp.frameOrder!.indexOf(k)));
    expect(d.sliceSpacing).toBeCloseTo(1, 9);
    for (const k of [0, 4, 9]) {
      const f = await service.getFrame(uid, k);
      expect([f.rescaleSlope, f.rescaleIntercept, f.rescaleType]).toEqual([2, -10, 'US']);
      expect(f.pixelSpacing).toEqual([1, 1]);
      expect(f.imageOrientationPatient).toEqual([-1, 0, 0, 0, -1, 0]);
      let sum = 0;
      for (const v of f.pixels) sum += v;
      expect(sum).toBe(exp.sliceSums![k]);
    }
  });
});
