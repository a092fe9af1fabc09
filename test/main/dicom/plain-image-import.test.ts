/**
 * Plain images into the store: PNG, JPEG and TIFF (8/16-bit, grey and RGB, strips, tiles, planar, big-
 * endian, LZW/PackBits/Deflate with predictor, multi-page) written from Debian's skimage images by
 * make_plain_fixtures.py, imported through the service (worker thread), and each frame compared pixel
 * for pixel with what Pillow (or tifffile) reads from the same file. Pixel size only where stated.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importReportSchema, type ImportReport } from '../../../src-shared/contracts/dicom';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { parseDicomBytes } from '../../../src-main/dicom/parse';
import { PYTHON, REPO } from './fixtures';

interface Case {
  file: string;
  raw: string;
  shape: number[];
  dtype: 'uint8' | 'uint16';
  spacingMm: [number, number] | null;
  pages: number;
}

let scratch = '';
let fixtures = '';
let cases: Case[] = [];
let jobs: JobManager;
let service: DicomService;
let report: ImportReport;

const sink = { id: 'test', send: () => {}, isAlive: () => true };

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'plain-import-'));
  fixtures = path.join(scratch, 'images');
  execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/plain-images/make_plain_fixtures.py'), fixtures], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  cases = (JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { cases: Case[] }).cases;
  jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: path.join(scratch, 'data') });
  const started = service.import([fixtures], sink);
  const final: JobFinal = await jobs.wait(started.jobId);
  expect(final.status).toBe('done');
  report = importReportSchema.parse(final.status === 'done' ? final.result : null);
}, 300_000);

afterAll(async () => {
  await service?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function expectedPixels(c: Case): Uint8Array | Uint16Array {
  const b = readFileSync(path.join(fixtures, c.raw));
  const copy = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return c.dtype === 'uint16' ? new Uint16Array(copy) : new Uint8Array(copy);
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return i;
  return -1;
}

describe('plain-image import', () => {
  it('imports every good image as a series of its own and says what each was', () => {
    for (const c of cases) {
      const entry = report.entries.find((e) => e.path === path.join(fixtures, c.file));
      expect(entry, c.file).toMatchObject({ status: 'ok' });
      expect(entry?.message, c.file).toMatch(/^(PNG|JPEG|TIFF) \d+x\d+ (RGB|grey) (8|16)-bit/);
    }
    // The manifest and the raw references are not images: not DICOM, as before.
    expect(report.entries.find((e) => e.path.endsWith('manifest.json'))).toMatchObject({ status: 'error', problem: 'not-dicom' });
  });

  it('gives frames pixel-exact against Pillow/tifffile for each format and bit depth', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
    for (const c of cases) {
      const entry = report.entries.find((e) => e.path === path.join(fixtures, c.file))!;
      const series = service.getSeries(entry.seriesUid!);
      expect(series.images.length, c.file).toBe(c.pages);
      const expected = expectedPixels(c);
      const perPage = expected.length / c.pages;
      const rgb = c.shape.length === (c.pages > 1 ? 4 : 3) && c.shape[c.shape.length - 1] === 3;
      for (let p = 0; p < c.pages; p += 1) {
        const frame = await service.getFrame(series.seriesUid, p);
        expect(frame.color, c.file).toBe(rgb);
        expect(frame.samplesPerPixel, c.file).toBe(rgb ? 3 : 1);
        expect(frame.photometric, c.file).toBe(rgb ? 'RGB' : 'MONOCHROME2');
        expect(frame.pixels instanceof (c.dtype === 'uint16' ? Uint16Array : Uint8Array), c.file).toBe(true);
        expect(firstMismatch(frame.pixels, expected.subarray(p * perPage, (p + 1) * perPage)), `${c.file} page ${p + 1}`).toBe(-1);
        if (c.spacingMm) {
          expect(frame.pixelSpacing?.[0], c.file).toBeCloseTo(c.spacingMm[0], 8);
          expect(frame.pixelSpacing?.[1], c.file).toBeCloseTo(c.spacingMm[1], 8);
        } else expect(frame.pixelSpacing, c.file).toBeNull();
      }
    }
  });

  it('leaves out a TIFF page of another size and says so', () => {
    const entry = report.entries.find((e) => e.path.endsWith('micro_pages.tif'));
    expect(entry?.message).toMatch(/3 pages/);
    expect(entry?.message).toMatch(/page 4 \(26x26, grey 8-bit\) differs from page 1 and was left out/);
  });

  it('stores a secondary-capture object naming the source file and its SHA-256', () => {
    const source = path.join(fixtures, 'ihc_rgb8.png');
    const sha = createHash('sha256').update(readFileSync(source)).digest('hex');
    const entry = report.entries.find((e) => e.path === source)!;
    const stored = service.imageFile(entry.seriesUid!, 0)!;
    expect(path.basename(stored)).toBe(`${sha}.dcm`);
    const parsed = parseDicomBytes(readFileSync(stored));
    expect(parsed.meta.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.7.4'); // multi-frame true colour SC
    expect(parsed.meta.seriesDescription).toBe('ihc_rgb8.png');
    const comments = parsed.dataSet.string('x00204000') ?? '';
    expect(comments).toContain(`ihc_rgb8.png (PNG), SHA-256 ${sha}`);
    expect(comments).toContain('PNG pHYs');
    const unknown = parseDicomBytes(readFileSync(service.imageFile(report.entries.find((e) => e.path.endsWith('cell_grey8.png'))!.seriesUid!, 0)!));
    expect(unknown.dataSet.string('x00204000')).toContain('pixel size unknown');
  });

  it('imports the same file twice into the same series (UIDs from the hash)', async () => {
    const again = service.import([path.join(fixtures, 'retina.jpg')], sink);
    const final = await jobs.wait(again.jobId);
    const r = importReportSchema.parse(final.status === 'done' ? final.result : null);
    expect(r.seriesUids).toEqual([report.entries.find((e) => e.path.endsWith('retina.jpg'))!.seriesUid]);
    expect(service.getSeries(r.seriesUids[0]!).images.length).toBe(1);
  });
});
