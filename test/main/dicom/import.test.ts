/**
 * Import through the service (worker thread, job manager), series assembly and sorting, frames over
 * the contract, and physical pane sync between two real series with different matrix and spacing.
 * The series are written from the Colin27 MRI and pydicom's CT_small by write_series.py (on demand).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { importReportSchema, frameSchema, seriesDetailSchema, type ImportReport } from '../../../src-shared/contracts/dicom';
import { nearestSliceIndex, patientToPixel, pixelToPatient, type ImagePlane } from '../../../src-shared/dicom/geometry';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { ensureGeneratedSeries, GENERATED, PYDICOM_FILES, type ExpectedSeries } from './fixtures';

const events: Array<{ channel: string; payload: unknown }> = [];
const ctx: CallContext = {
  sink: { id: 'test', send: (channel, payload) => events.push({ channel, payload }), isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

let jobs: JobManager;
let service: DicomService;
let expected: Record<string, ExpectedSeries>;
let report: ImportReport;
let scratch: string;

beforeAll(async () => {
  expected = ensureGeneratedSeries();
  scratch = mkdtempSync(path.join(tmpdir(), 'dicom-import-'));
  // Broken files next to good ones: the import must report them and go on.
  writeFileSync(path.join(scratch, 'empty.dcm'), new Uint8Array(0));
  writeFileSync(path.join(scratch, 'notes.txt'), 'not a DICOM file at all, just some text');
  const good = readFileSync(path.join(PYDICOM_FILES, 'CT_small.dcm'));
  writeFileSync(path.join(scratch, 'cut.dcm'), good.subarray(0, good.length - 1000));
  copyFileSync(path.join(PYDICOM_FILES, 'MR_small_RLE.dcm'), path.join(scratch, 'rle.dcm'));
  jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: scratch });
  const started = service.import(
    [path.join(GENERATED, 'mr_axial'), path.join(GENERATED, 'mr_resampled'), path.join(GENERATED, 'ct_series'), scratch, path.join(PYDICOM_FILES, 'dicomdirtests/DICOMDIR')],
    ctx.sink,
  );
  const final: JobFinal = await jobs.wait(started.jobId);
  expect(final.status).toBe('done');
  report = importReportSchema.parse(final.status === 'done' ? final.result : null);
}, 300_000);

afterAll(async () => {
  await service?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('DICOM import', () => {
  it('imports every good file and reports each bad one with a clear message', () => {
    const by = (name: string) => report.entries.find((e) => e.path.endsWith(name));
    expect(by('empty.dcm')).toMatchObject({ status: 'error', problem: 'zero-length' });
    expect(by('notes.txt')).toMatchObject({ status: 'error', problem: 'not-dicom' });
    expect(by('cut.dcm')?.status).toBe('error');
    expect(by('cut.dcm')?.problem).toMatch(/truncated|wrong-pixel-length/);
    expect(by('rle.dcm')?.status).toBe('ok');
    expect(by('dicomdirtests/DICOMDIR')).toMatchObject({ status: 'skipped' });
    // The DICOMDIR's referenced files were followed (its CT and MR images).
    expect(report.entries.filter((e) => e.path.includes('dicomdirtests/77654033') && e.status === 'ok').length).toBeGreaterThan(3);
    expect(report.imported).toBe(report.entries.filter((e) => e.status === 'ok').length);
    expect(report.files).toBe(report.entries.length);
    const progress = events.filter((e) => e.channel === 'jobs:progress');
    expect(progress.length).toBeGreaterThan(0);
  });

  it('groups patient → study → series', async () => {
    const studies = await service.listStudies();
    const colin = studies.find((s) => s.patientId === 'COLIN27')!;
    expect(colin.series.map((s) => s.seriesUid).sort()).toEqual([expected.mr_axial!.seriesUid, expected.mr_resampled!.seriesUid].sort());
    expect(colin.series.map((s) => s.imageCount)).toEqual([40, 20]);
    expect(studies.find((s) => s.patientId === 'CTSMALL')?.modalities).toEqual(['CT']);
  });

  it('sorts slices by position along the normal, whatever the file order', async () => {
    for (const name of ['mr_axial', 'mr_resampled', 'ct_series']) {
      const exp = expected[name]!;
      const d = seriesDetailSchema.parse(service.getSeries(exp.seriesUid));
      expect(d.sortedBy).toBe('image-position');
      const positions = d.images.map((im) => im.imagePositionPatient!);
      // The writer's slice order runs along +normal, so the sorted order is the writer's order.
      for (let k = 0; k < exp.count; k += 1) {
        for (let a = 0; a < 3; a += 1) expect(positions[k]![a]).toBeCloseTo(exp.positions[k]![a]!, 3);
      }
      expect(d.sliceSpacing).toBeCloseTo(name === 'mr_axial' ? 1 : name === 'mr_resampled' ? 2 : 5, 3);
    }
  });

  it('serves frames with the stored pixels and the metadata a viewer needs', async () => {
    const exp = expected.mr_axial!;
    for (const k of [0, 17, 39]) {
      const f = frameSchema.parse(await service.getFrame(exp.seriesUid, k));
      expect(f.pixels).toBeInstanceOf(Int16Array);
      expect(f.rows).toBe(217);
      expect(f.columns).toBe(181);
      expect(f.pixelSpacing).toEqual([1, 1]);
      let sum = 0;
      for (const v of f.pixels) sum += v;
      expect(sum).toBe(exp.sliceSums[k]);
      expect(f.overlay.patientName).toBe('Colin27');
    }
    const ct = frameSchema.parse(await service.getFrame(expected.ct_series!.seriesUid, 0));
    expect(ct.rescaleIntercept).toBe(-1024);
    expect(ct.windows[0]).toMatchObject({ center: 40, width: 400 });
    await expect(service.getFrame(exp.seriesUid, 40)).rejects.toThrow(/no image 40/);
    await expect(service.getFrame('nope', 0)).rejects.toThrow(/No imported series/);
  });

  it('syncs panes in millimetres across different matrix sizes and slice spacing', async () => {
    const a = await service.getSeries(expected.mr_axial!.seriesUid);
    const b = await service.getSeries(expected.mr_resampled!.seriesUid);
    const planeOf = (im: (typeof a.images)[number]): ImagePlane => ({
      imagePositionPatient: im.imagePositionPatient!,
      imageOrientationPatient: im.imageOrientationPatient!,
      pixelSpacing: im.pixelSpacing!,
      rows: im.rows,
      columns: im.columns,
    });
    const bPositions = b.images.map((im) => im.imagePositionPatient!);
    for (const k of [0, 10, 21, 39]) {
      const imA = a.images[k]!;
      // A point under the cursor in pane A (column 120, row 80) ...
      const point = pixelToPatient(planeOf(imA), 120, 80);
      // ... picks the nearest slice of B (2 mm apart: within 1 mm) ...
      const j = nearestSliceIndex(bPositions, b.sliceNormal!, point);
      const imB = b.images[j]!;
      const pb = patientToPixel(planeOf(imB), point);
      expect(Math.abs(pb.distance)).toBeLessThanOrEqual(1 + 1e-6);
      // ... and lands on the same anatomy: twice the pixel coordinates plus the half-pixel offset.
      expect(pb.column).toBeCloseTo(120 * 2 + 0.5, 6);
      expect(pb.row).toBeCloseTo(80 * 2 + 0.5, 6);
      // The same place has (nearly) the same intensity in both series (B is an interpolated copy).
      const fa = await service.getFrame(a.seriesUid, k);
      const fb = await service.getFrame(b.seriesUid, j);
      const va = fa.pixels[80 * fa.columns + 120]!;
      const vb = fb.pixels[Math.round(pb.row) * fb.columns + Math.round(pb.column)]!;
      expect(Math.abs(va - vb)).toBeLessThan(40);
    }
  });

  it('cancels an import and keeps what was read', async () => {
    // Cancel from the progress event of the 5th file, not after a delay: a fast machine finished
    // the whole import inside a 30 ms timer. The clock steps 1 s per reading so no event is throttled.
    let tick = 0;
    const cancelJobs = new JobManager(() => (tick += 1000));
    const cancelService = createDicomService({ jobs: cancelJobs, dataDir: null });
    const cancelCtx: CallContext = {
      ...ctx,
      sink: {
        id: 'cancel-test',
        isAlive: () => true,
        send: (channel, payload) => {
          const p = payload as { jobId: string; done: number };
          if (channel === 'jobs:progress' && p.done >= 5) cancelJobs.cancel(p.jobId);
        },
      },
    };
    try {
      const started = await cancelService.import([path.join(GENERATED, 'mr_axial'), path.join(GENERATED, 'mr_resampled')], cancelCtx.sink);
      const final = await cancelJobs.wait(started.jobId);
      expect(final.status).toBe('cancelled');
      const partial = importReportSchema.parse(final.status === 'cancelled' ? final.result : null);
      expect(partial.imported).toBeGreaterThanOrEqual(5);
      expect(partial.files).toBeLessThan(60);
      // What was read before the cancel stays imported and browsable.
      const studies = await cancelService.listStudies();
      expect(studies.flatMap((s) => s.series).reduce((n, s) => n + s.imageCount, 0)).toBe(partial.imported);
    } finally {
      await cancelService.close();
    }
  });
});

describe('DICOM worker watchdog and persistence', () => {
  it('stops a request that runs past its time limit and serves the next one from a fresh worker', async () => {
    const { DicomWorkerClient, WorkerRequestError } = await import('../../../src-main/dicom/worker-client');
    const client = new DicomWorkerClient(30_000);
    try {
      const big = path.join(PYDICOM_FILES, 'JPEG2000.dcm'); // a 256x1024 JPEG 2000 decode takes tens of ms
      expect((await client.request({ type: 'probe', path: big })).type).toBe('probe'); // warm
      const slow = client.request({ type: 'probe', path: big }, 2);
      await expect(slow).rejects.toBeInstanceOf(WorkerRequestError);
      await expect(slow).rejects.toMatchObject({ problem: 'timeout' });
      const next = await client.request({ type: 'probe', path: path.join(PYDICOM_FILES, 'CT_small.dcm') });
      expect(next.type === 'probe' && next.entry.ok).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('keeps the study list across a restart (index under the data folder)', async () => {
    const again = createDicomService({ jobs, dataDir: scratch });
    try {
      const before = await service.listStudies();
      const after = await again.listStudies();
      expect(after).toEqual(before);
      const f = await again.getFrame(expected.mr_axial!.seriesUid, 3);
      let sum = 0;
      for (const v of f.pixels) sum += v;
      expect(sum).toBe(expected.mr_axial!.sliceSums[3]);
    } finally {
      await again.close();
    }
  });
});

describe('parallel import', () => {
  it('gives the same series with three scan workers as with one', async () => {
    const jobs3 = new JobManager();
    const parallel = createDicomService({ jobs: jobs3, dataDir: null, scanWorkers: 3 });
    try {
      const started = await parallel.import([path.join(GENERATED, 'mr_axial'), path.join(PYDICOM_FILES, 'dicomdirtests/DICOMDIR')], ctx.sink);
      const final = await jobs3.wait(started.jobId);
      expect(final.status).toBe('done');
      const r = importReportSchema.parse(final.status === 'done' ? final.result : null);
      expect(r.imported).toBe(40 + report.entries.filter((e) => e.path.includes('dicomdirtests/') && e.status === 'ok').length);
      const d = await parallel.getSeries(expected.mr_axial!.seriesUid);
      expect(d).toEqual(await service.getSeries(expected.mr_axial!.seriesUid));
    } finally {
      await parallel.close();
    }
  });
});
