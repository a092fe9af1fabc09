/**
 * Correctness at scale (issue #23): a 2,000-slice thin-section CT series and a 1,000-frame enhanced CT
 * (per-frame Plane Position and Orientation, Pixel Measures shared, frames stored out of order), both
 * written from Colin27 by write_big_study.py at 64x64 (the 512x512 size is the benchmark's). Imported
 * through the service: every slice in order with its geometry, pixels matching the writer's sums, the
 * enhanced object's per-frame positions driving its order and the mm sync with the series, and the
 * header-only import path giving the same metadata as a full parse.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importReportSchema, type ImportReport, type SeriesDetail } from '../../../src-shared/contracts/dicom';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { nearestSliceIndex } from '../../../src-shared/dicom/geometry';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import { loadCodecs } from '../../../src-main/dicom/codecs';
import { parseDicomBytes } from '../../../src-main/dicom/parse';
import { frameRange, HEADER_PREFIX_BYTES, parseDicomHeader, singleFrameView } from '../../../src-main/dicom/parse-header';
import { decodeFrame } from '../../../src-main/dicom/pixels';
import { readDicomPrefix, readDicomRange } from '../../../src-main/dicom/read-file';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { makeBigStudy, type BigStudy } from '../../support/big-study-fixtures';

const SLICES = 2000;
const FRAMES = 1000;
const sink = { id: 'big-study', send: () => {}, isAlive: () => true };

let study: BigStudy;
let jobs: JobManager;
let service: DicomService;
let report: ImportReport;

beforeAll(async () => {
  study = makeBigStudy(64, SLICES, FRAMES);
  jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: null });
  const started = service.import([study.seriesDir, study.enhancedFile], sink);
  const final: JobFinal = await jobs.wait(started.jobId);
  expect(final.status).toBe('done');
  report = importReportSchema.parse(final.status === 'done' ? final.result : null);
}, 300_000);

afterAll(async () => {
  await service?.close();
  await jobs?.shutdown();
  if (study) rmSync(study.dir, { recursive: true, force: true });
});

function pixelSum(pixels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pixels.length; i += 1) s += pixels[i]!;
  return s;
}

describe('a 2,000-slice series and a 1,000-frame enhanced CT', () => {
  it('imports every file', () => {
    expect(report.imported).toBe(SLICES + 1);
    expect(report.failed).toBe(0);
    expect(new Set(report.seriesUids)).toEqual(new Set([study.series.seriesUid, study.enhanced!.seriesUid]));
  });

  it('puts every slice of the series in order with its geometry', async () => {
    const d: SeriesDetail = service.getSeries(study.series.seriesUid);
    expect(d.images).toHaveLength(SLICES);
    expect(d.sortedBy).toBe('image-position');
    expect(d.sliceSpacing).toBeCloseTo(0.625, 6);
    d.images.forEach((im, k) => {
      expect(im.instanceNumber, `slice ${k}`).toBe(k + 1);
      expect(im.imagePositionPatient, `slice ${k}`).toEqual([study.series.x0, study.series.y0, study.series.positionsZ[k]]);
      expect(im.imageOrientationPatient).toEqual([-1, 0, 0, 0, -1, 0]);
      expect(im.pixelSpacing![0]).toBeCloseTo(study.series.spacing, 6);
      expect([im.rows, im.columns]).toEqual([64, 64]);
    });
    for (const k of [0, 1, 777, 1000, 1998, 1999]) {
      const f = await service.getFrame(study.series.seriesUid, k);
      expect(f.imagePositionPatient![2]).toBeCloseTo(study.series.positionsZ[k]!, 6);
      expect(pixelSum(f.pixels), `slice ${k}`).toBe(study.series.sliceSums[k]);
    }
  });

  it("orders the enhanced object's frames by their per-frame positions", async () => {
    const exp = study.enhanced!;
    const d = service.getSeries(exp.seriesUid);
    expect(d.multiFrame).toBe(true);
    expect(d.images).toHaveLength(FRAMES);
    expect(d.sortedBy).toBe('image-position');
    expect(d.images.map((im) => im.imagePositionPatient![2])).toEqual(exp.positionsZ);
    // Stored out of order: display slice j is stored frame storedFrameOfSlice[j].
    expect(d.images.map((im) => im.frame)).toEqual(exp.storedFrameOfSlice);
    expect(d.images.some((im, j) => im.frame !== j)).toBe(true);
    expect(d.images[0]!.imageOrientationPatient).toEqual([-1, 0, 0, 0, -1, 0]);
    for (const j of [0, 1, 499, 998, 999]) {
      const f = await service.getFrame(exp.seriesUid, j);
      expect(f.frame).toBe(exp.storedFrameOfSlice[j]);
      expect(f.imagePositionPatient![2]).toBeCloseTo(exp.positionsZ[j]!, 6);
      expect(pixelSum(f.pixels), `slice ${j}`).toBe(exp.sliceSums[j]);
    }
  });

  it('syncs the enhanced object and the series in millimetres, both ways', async () => {
    const exp = study.enhanced!;
    const series = service.getSeries(study.series.seriesUid);
    const enhanced = service.getSeries(exp.seriesUid);
    const seriesPositions = series.images.map((im) => im.imagePositionPatient!);
    const enhancedPositions = enhanced.images.map((im) => im.imagePositionPatient!);
    enhanced.images.forEach((im, j) => {
      expect(nearestSliceIndex(seriesPositions, series.sliceNormal!, im.imagePositionPatient!), `enhanced slice ${j}`).toBe(exp.seriesIndexOfSlice[j]);
    });
    for (const k of [0, 3, 1001, 1999]) {
      const j = nearestSliceIndex(enhancedPositions, enhanced.sliceNormal!, seriesPositions[k]!);
      expect(Math.abs(enhancedPositions[j]![2]! - seriesPositions[k]![2]!)).toBeLessThanOrEqual(0.625 * (SLICES / FRAMES) / 2 + 1e-9);
    }
    // The same anatomy on both sides of a synced pair.
    const j = 400;
    const a = await service.getFrame(exp.seriesUid, j);
    const b = await service.getFrame(study.series.seriesUid, exp.seriesIndexOfSlice[j]!);
    expect(pixelSum(a.pixels)).toBe(pixelSum(b.pixels));
  });

  it('reads from headers alone what a full parse reads, and decodes a frame read on its own', async () => {
    await loadCodecs();
    const files = readdirSync(study.seriesDir).slice(0, 5).map((f) => path.join(study.seriesDir, f));
    for (const file of [...files, study.enhancedFile]) {
      const { result: header, head, size } = readDicomPrefix(file, {}, HEADER_PREFIX_BYTES, parseDicomHeader);
      expect(header, file).not.toBeNull();
      // The 64x64 slices are smaller than the first read; the enhanced object's pixels are not read.
      if (file === study.enhancedFile) expect(head.length).toBeLessThan(size / 4);
      const full = parseDicomBytes(readFileSync(file));
      expect(header!.meta).toEqual(full.meta);
      for (const frame of file === study.enhancedFile ? [0, 123, FRAMES - 1] : [0]) {
        const range = frameRange(header!, frame);
        const view = singleFrameView(header!, frame, readDicomRange(file, range.position, range.length));
        expect(decodeFrame(view, 0).pixels).toEqual(decodeFrame(full, frame).pixels);
      }
    }
  });
});
