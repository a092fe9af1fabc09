/**
 * Bad plain images: a JPEG cut in half (and skimage's own truncated.jpg), a PNG cut short, TIFF and PNG
 * bombs whose headers declare huge images over tiny data, a strip shorter than its image, and a 1-pixel
 * image. Each gets a clear error (the 1-pixel image imports), nothing crashes, and a bomb is refused
 * before its declared size is allocated. Also `dicom probe` on plain images (RGB, samples per pixel).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importReportSchema, probeEntrySchema, type ImportReport, type ProbeEntry } from '../../../src-shared/contracts/dicom';
import { runCli } from '../../../src-main/cli/main';
import { loadCodecs } from '../../../src-main/dicom/codecs';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import { DicomFileError } from '../../../src-main/dicom/parse';
import { decodePlainImage } from '../../../src-main/dicom/plain-image/plain-image-import';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { PYTHON, REPO } from './fixtures';

let scratch = '';
let bad = '';
let images = '';
let report: ImportReport;
let service: DicomService;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'plain-bad-'));
  images = path.join(scratch, 'images');
  bad = path.join(images, 'bad');
  execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/plain-images/make_plain_fixtures.py'), images], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  // A PNG whose header says 60000x60000 (16-bit RGBA would be 27 GiB) over ihc's real image data.
  const png = new Uint8Array(readFileSync(path.join(images, 'ihc_rgb8.png')));
  const view = new DataView(png.buffer);
  view.setUint32(16, 60000);
  view.setUint32(20, 60000);
  writeFileSync(path.join(bad, 'bomb_60000x60000.png'), png);
  await loadCodecs();
  const jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: path.join(scratch, 'data') });
  const started = service.import([bad, path.join(images, 'one_pixel.png')], { id: 't', send: () => {}, isAlive: () => true });
  const final = await jobs.wait(started.jobId);
  report = importReportSchema.parse(final.status === 'done' ? final.result : null);
}, 300_000);

afterAll(async () => {
  await service?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const entry = (name: string) => report.entries.find((e) => path.basename(e.path) === name);

describe('bad plain images', () => {
  it('refuses truncated files as truncated, in words', () => {
    expect(entry('retina_cut.jpg')).toMatchObject({ status: 'error', problem: 'truncated' });
    expect(entry('retina_cut.jpg')?.message).toMatch(/JPEG: the file is truncated/);
    expect(entry('skimage_truncated.jpg')).toMatchObject({ status: 'error', problem: 'truncated' });
    expect(entry('ihc_cut.png')?.status).toBe('error');
    expect(entry('ihc_cut.png')?.message).toMatch(/^PNG: /);
    expect(entry('bomb_strip_short_512.tif')).toMatchObject({ status: 'error', problem: 'truncated' });
    expect(entry('bomb_strip_short_512.tif')?.message).toMatch(/strip 1 \(16 bytes at \d+\)|decodes to 16 of 262144 bytes/);
  });

  it('refuses bombs from their declared size', () => {
    expect(entry('bomb_60000x60000_rgb.tif')).toMatchObject({ status: 'error', problem: 'too-large' });
    expect(entry('bomb_60000x60000_rgb.tif')?.message).toMatch(/declares 60000x60000 pixels .*Nothing was allocated/);
    expect(entry('bomb_4000000x1.tif')).toMatchObject({ status: 'error', problem: 'too-large' });
    expect(entry('bomb_4000000x1.tif')?.message).toMatch(/at most 65535 a side/);
    expect(entry('bomb_60000x60000.png')).toMatchObject({ status: 'error', problem: 'too-large' });
  });

  it('imports a 1-pixel image', async () => {
    const one = entry('one_pixel.png');
    expect(one).toMatchObject({ status: 'ok' });
    const frame = await service.getFrame(one!.seriesUid!, 0);
    expect([frame.rows, frame.columns, ...frame.pixels]).toEqual([1, 1, 200, 30, 90]);
  });

  it('keeps memory bounded on the bombs (decoded in this process)', () => {
    const before = process.memoryUsage().arrayBuffers;
    for (const name of ['bomb_60000x60000_rgb.tif', 'bomb_4000000x1.tif', 'bomb_60000x60000.png']) {
      const bytes = new Uint8Array(readFileSync(path.join(bad, name)));
      expect(() => decodePlainImage(bytes), name).toThrow(DicomFileError);
    }
    // 60000² RGB would be 10 GiB; nothing near that was allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('dicom probe and dicom import on plain images', () => {
  it('reports RGB, samples per pixel, bits, format and stated pixel size; errors for bad files', async () => {
    let out = '';
    process.env.HEALTHGPT_DATA_DIR = path.join(scratch, 'cli');
    let code: number;
    try {
      code = await runCli(['dicom', 'probe', path.join(images, 'ihc_rgb16_zlib_pred.tif'), path.join(images, 'cell_grey.jpg'), path.join(bad, 'retina_cut.jpg'), '--json'], { out: (t) => (out += t), err: () => {} });
    } finally {
      delete process.env.HEALTHGPT_DATA_DIR;
    }
    const entries: ProbeEntry[] = (JSON.parse(out) as unknown[]).map((e) => probeEntrySchema.parse(e));
    expect(code).toBe(1);
    expect(entries[0]).toMatchObject({ ok: true, sourceFormat: 'TIFF', photometric: 'RGB', samplesPerPixel: 3, bitsAllocated: 16, rows: 512, columns: 512, frames: 1 });
    expect(entries[0]?.pixelSpacing?.[0]).toBeCloseTo(0.005, 9);
    expect(entries[1]).toMatchObject({ ok: true, sourceFormat: 'JPEG', photometric: 'MONOCHROME2', samplesPerPixel: 1, bitsAllocated: 8, pixelSpacing: null });
    expect(entries[2]).toMatchObject({ ok: false, problem: 'truncated' });
    let text = '';
    await runCli(['dicom', 'probe', path.join(images, 'ihc_rgb8.png')], { out: (t) => (text += t), err: () => {} });
    expect(text).toMatch(/PNG image \(plain, not DICOM\)\n {2}512 × 512 pixels, 1 frame, pixels 0\.250 × 0\.250 mm, RGB \(3 samples per pixel, 8-bit\)/);
  });

  it('dicom import takes PNG/JPEG/TIFF and reports each file', async () => {
    let out = '';
    process.env.HEALTHGPT_DATA_DIR = path.join(scratch, 'cli-import');
    let code: number;
    try {
      code = await runCli(['dicom', 'import', path.join(images, 'retina.jpg'), path.join(images, 'micro_pages.tif'), path.join(bad, 'bomb_60000x60000_rgb.tif'), '--json'], { out: (t) => (out += t), err: () => {} });
    } finally {
      delete process.env.HEALTHGPT_DATA_DIR;
    }
    const r = importReportSchema.parse(JSON.parse(out));
    expect(code).toBe(1);
    expect([r.imported, r.failed, r.seriesUids.length]).toEqual([2, 1, 2]);
    expect(r.entries.find((e) => e.path.endsWith('retina.jpg'))?.message).toMatch(/^JPEG 1411x1411 RGB 8-bit, pixel 169.3x169.3 um \(JFIF density per inch\)/);
  });
});
