import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomToModelImage, readModelImage } from '../../../src-main/model/dicom-input';
import { PYTHON } from './pack-fixture';

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
hu = np.linspace(-300, 300, 24 * 32).reshape(24, 32)
ds.PixelData = (hu + 1024).astype('<i2').tobytes()
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(out, write_like_original=False)
`;

describe('DICOM input for the model', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hgpt-dcm-'));
  const mono2 = path.join(dir, 'ct.dcm');
  const mono1 = path.join(dir, 'ct-mono1.dcm');
  beforeAll(() => {
    execFileSync(PYTHON, ['-c', script, mono2, 'MONOCHROME2']);
    execFileSync(PYTHON, ['-c', script, mono1, 'MONOCHROME1']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("applies the file's window linearly (DICOM C.11.2.1.2), keeps geometry and records the window", () => {
    const img = readModelImage(mono2);
    expect([img.rgb.width, img.rgb.height]).toEqual([32, 24]);
    expect(img.pixelSpacing).toEqual([0.7, 0.7]);
    expect(img.window).toContain('W 400 / L 40');
    const px = (i: number): number => img.rgb.data[i * 3]!;
    // HU -300 and +300 lie outside 40±200: black and white; grey channels equal
    expect(px(0)).toBe(0);
    expect(px(24 * 32 - 1)).toBe(255);
    expect(img.rgb.data[1]).toBe(img.rgb.data[0]);
    // a pixel inside the window follows ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    const hu = Math.trunc(-300 + (600 * 400) / (24 * 32 - 1) + 1024) - 1024; // stored as int16 (numpy truncates)
    expect(px(400)).toBe(Math.round(((hu - 39.5) / 399 + 0.5) * 255));
  });

  it('uses an explicit window when given and inverts MONOCHROME1', () => {
    const bytes = readFileSync(mono2);
    const wide = dicomToModelImage(bytes, { window: { center: 0, width: 2000 } });
    expect(wide.window).toContain('(chosen)');
    expect(wide.rgb.data[0]).toBeGreaterThan(0);
    expect(wide.rgb.data[(24 * 32 - 1) * 3]).toBeLessThan(255);
    const inv = readModelImage(mono1);
    const normal = readModelImage(mono2);
    for (const i of [0, 400, 767]) expect(inv.rgb.data[i * 3]).toBe(255 - normal.rgb.data[i * 3]!);
  });
});
