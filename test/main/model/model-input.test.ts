import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { runCli } from '../../../src-main/cli/main';
import { cliSink } from '../../../src-main/cli/direct-call';
import { readModelInput } from '../../../src-main/model/dicom-input';
import type { ModelImage } from '../../../src-main/model/runtime';
import { ModelRuntime } from '../../../src-main/model/runtime';
import { CONFIDENCE_MAP_LABEL } from '../../../src-main/workflow/confidence-artifacts';
import { createServices, type Services } from '../../../src-main/services';
import { cachedTinyPack, PYTHON, type BuiltPack } from './pack-fixture';

// A CT slice written by pydicom at test time: 16-bit signed, rescale -1024, a window preset, 0.7 mm pixels.
const script = `
import sys, numpy as np, pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out, photometric = sys.argv[1], sys.argv[2]
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = FileDataset(out, {}, file_meta=meta, preamble=b'\\0' * 128)
ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'CT'
ds.Rows, ds.Columns = 24, 32
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = photometric
ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15; ds.PixelRepresentation = 1
ds.RescaleSlope = 1; ds.RescaleIntercept = -1024
ds.WindowCenter = 40; ds.WindowWidth = 400; ds.PixelSpacing = [0.7, 0.7]
hu = np.linspace(-300, 300, 24 * 32).reshape(24, 32)\nds.ImagePositionPatient = [0, 0, 0]; ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]; ds.InstanceNumber = 1
ds.PixelData = (hu + 1024).astype('<i2').tobytes()
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(out, write_like_original=False)
`;

const px = (img: ModelImage, i: number): number => img.rgb.data[i * 3]!;

describe('the one DICOM → model input mapping', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hgpt-dcm-'));
  const mono2 = path.join(dir, 'ct.dcm');
  const mono1 = path.join(dir, 'ct-mono1.dcm');
  beforeAll(() => {
    execFileSync(PYTHON, ['-c', script, mono2, 'MONOCHROME2']);
    execFileSync(PYTHON, ['-c', script, mono1, 'MONOCHROME1']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the pack's window for the task, not the file's preset, keeps geometry and records the window", async () => {
    const { image, dicom } = await readModelInput(mono2, { inputWindow: { center: 0, width: 200 } });
    expect(dicom?.modality).toBe('CT');
    expect([image.rgb.width, image.rgb.height]).toEqual([32, 24]);
    expect(image.pixelSpacing).toEqual([0.7, 0.7]);
    expect(image.window).toBe('W 200 / L 0');
    // HU -300 and +300 lie outside 0±100: black and white; grey channels equal
    expect(px(image, 0)).toBe(0);
    expect(px(image, 24 * 32 - 1)).toBe(255);
    expect(image.rgb.data[1]).toBe(image.rgb.data[0]);
    // inside the window: (hu - lo) * 255 / width, rounded
    const hu = Math.trunc(-300 + (600 * 380) / (24 * 32 - 1) + 1024) - 1024; // stored as int16 (numpy truncates)
    expect(px(image, 380)).toBe(Math.round(((hu + 100) * 255) / 200));
  });

  it("a CT task without a window uses W 2000 / L 40; 'auto' uses percentiles; an explicit window wins; MONOCHROME1 is inverted", async () => {
    expect((await readModelInput(mono2, {})).image.window).toBe('W 2000 / L 40');
    expect((await readModelInput(mono2, { inputWindow: 'auto' })).image.window).toMatch(/^auto /);
    expect((await readModelInput(mono2, { inputWindow: 'auto' }, { window: { center: 40, width: 400 } })).image.window).toBe('W 400 / L 40');
    const normal = (await readModelInput(mono2, { inputWindow: { center: 0, width: 400 } })).image;
    const inverted = (await readModelInput(mono1, { inputWindow: { center: 0, width: 400 } })).image;
    for (const i of [0, 400, 767]) expect(px(inverted, i)).toBe(255 - px(normal, i));
  });
});

describe('every path feeds the model the same input for the same slice', () => {
  let pack: BuiltPack;
  let services: Services;
  const dir = mkdtempSync(path.join(tmpdir(), 'hgpt-same-input-'));
  const seriesDir = path.join(dir, 'series');
  const file = path.join(seriesDir, 'ct-mono1.dcm');
  beforeAll(async () => {
    mkdirSync(seriesDir);
    // MONOCHROME1 with a file window preset: the cases where the paths used to differ.
    execFileSync(PYTHON, ['-c', script, file, 'MONOCHROME1']);
    pack = cachedTinyPack();
    services = await createServices({ mode: 'test', dataDir: path.join(dir, 'data'), exportDir: path.join(dir, 'exports') });
  }, 300_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await services?.close();
    pack?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the window, the CLI file path and the CLI series path give identical pixels, spacing and window; the file run is in the history', async () => {
    const seen: ModelImage[] = [];
    const generate = ModelRuntime.prototype.generate;
    vi.spyOn(ModelRuntime.prototype, 'generate').mockImplementation(function (this: ModelRuntime, req) {
      seen.push(req.image);
      return generate.call(this, req);
    });
    const io = { out: (t: string) => (printed += t), err: () => {}, services: () => Promise.resolve(services) };
    let printed = '';

    // The window: import, then generate on the slice through the workflow.
    await services.model.load(pack.dir, 'cpu');
    const imported = services.dicom.import([seriesDir], cliSink());
    const report = (await services.jobs.wait(imported.jobId)) as Extract<JobFinal, { status: 'done' }>;
    const seriesUid = (report.result as { seriesUids: string[] }).seriesUids[0]!;
    const job = services.workflow.generate({ seriesUid, task: 'sr', from: 0, to: 0 }, cliSink());
    expect((await services.jobs.wait(job.jobId)).status).toBe('done');

    // The CLI on the file, then on the folder as a series.
    expect(await runCli(['generate', '--pack', pack.dir, '--task', 'sr', '--in', file, '--out', path.join(dir, 'one.png'), '--json'], io)).toBe(0);
    const fileRun = JSON.parse(printed) as { runId: string };
    printed = '';
    expect(await runCli(['generate', '--pack', pack.dir, '--task', 'sr', '--in', seriesDir, '--out', path.join(dir, 'series-out'), '--json'], io)).toBe(0);

    expect(seen).toHaveLength(3);
    const [win, cliFile, cliSeries] = seen as [ModelImage, ModelImage, ModelImage];
    expect(win.rgb.data.length).toBe(24 * 32 * 3);
    for (const other of [cliFile, cliSeries]) {
      expect([other.rgb.width, other.rgb.height]).toEqual([win.rgb.width, win.rgb.height]);
      expect(Buffer.from(other.rgb.data).equals(Buffer.from(win.rgb.data))).toBe(true);
      expect(other.pixelSpacing).toEqual(win.pixelSpacing);
      expect(other.window).toBe(win.window);
    }
    // The single-file run is recorded like the others, under the slice's study.
    const found = await services.history.findRun(fileRun.runId);
    expect(found?.run).toMatchObject({ task: 'sr', status: 'succeeded' });
    // the generated PNG, and its confidence map beside it (#21)
    expect(found?.run.outputs.map((o) => [o.kind, o.label])).toEqual([['image', 'sr (PNG)'], ['file', CONFIDENCE_MAP_LABEL]]);
  }, 300_000);
});
