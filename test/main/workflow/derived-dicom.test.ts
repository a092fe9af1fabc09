import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { DerivedSeriesWriter, readSourceAttributes, type DerivedSeriesRequest, type DerivedSlice, type ModelProvenance } from '../../../src-main/workflow/derived-dicom';

/** A whole series at once, through the writer the workflow uses slice by slice. */
function writeDerivedSeries(request: DerivedSeriesRequest & { slices: DerivedSlice[] }, outDir: string) {
  const writer = new DerivedSeriesWriter(request, outDir);
  request.slices.forEach((slice, index) => writer.writeSlice(slice, index));
  return { seriesInstanceUid: writer.seriesInstanceUid, files: writer.files, sopInstanceUids: writer.sopInstanceUids };
}

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const provenance: ModelProvenance = { packName: 'HealthGPT-nano', packVersion: '0.1.0', packSha256: 'c0ffee'.repeat(10) + 'abcd', demonstration: true, appName: 'HealthGPT Workstation', appVersion: '0.1.0' };

function readBack(file: string): Record<string, unknown> {
  const buf = readFileSync(file);
  const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
}

function validate(file: string): { errors: string[]; warnings: string[] } {
  const v = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  const lines = `${v.stdout}\n${v.stderr}`.split('\n');
  const dump = spawnSync('dcmdump', ['-q', file], { encoding: 'utf8' });
  expect(dump.status, dump.stderr).toBe(0);
  return { errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')) };
}

describe('derived DICOM series with AI provenance', () => {
  it('writes a 4x super-resolved MR series that dciodvfy and dcmdump accept, with provenance and geometry', () => {
    const srcFile = path.join(PYDICOM, 'MR_small.dcm');
    const src = readSourceAttributes(srcFile);
    const original = readBack(srcFile);
    const spacing = original.PixelSpacing as number[];
    const pixels = new Uint16Array(256 * 256).map((_, i) => (i * 13) % 4096);
    const out = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-derived-'));
    const written = writeDerivedSeries(
      {
        task: 'sr',
        modality: 'MR',
        provenance,
        source: src,
        seriesNumber: 9001,
        slices: [
          {
            pixels,
            rows: 256,
            columns: 256,
            pixelSpacing: [spacing[0]! / 4, spacing[1]! / 4],
            imagePositionPatient: original.ImagePositionPatient as [number, number, number],
            imageOrientationPatient: original.ImageOrientationPatient as [number, number, number, number, number, number],
            source: { sopClassUid: src.SOPClassUID, sopInstanceUid: src.SOPInstanceUID },
          },
        ],
      },
      out,
    );
    const { errors, warnings } = validate(written.files[0]!);
    expect(errors).toEqual([]);
    console.log(`dciodvfy warnings (derived MR): ${warnings.join(' | ') || 'none'}`);
    const ds = readBack(written.files[0]!);
    expect(ds.ImageType).toEqual(['DERIVED', 'SECONDARY', 'OTHER']);
    expect(ds.SeriesInstanceUID).toBe(written.seriesInstanceUid);
    expect(ds.SeriesInstanceUID).not.toBe(original.SeriesInstanceUID);
    expect(ds.SOPInstanceUID).not.toBe(original.SOPInstanceUID);
    expect(ds.StudyInstanceUID).toBe(original.StudyInstanceUID);
    expect(ds.FrameOfReferenceUID).toBe(original.FrameOfReferenceUID);
    expect(ds.PatientID).toBe(original.PatientID);
    expect(ds.BurnedInAnnotation).toBe('NO');
    expect(String(ds.SeriesDescription)).toMatch(/NOT FOR CLINICAL USE/);
    expect(String(ds.DerivationDescription)).toMatch(/super-resolution by HealthGPT-nano 0\.1\.0/);
    const sourceSeq = ds.SourceImageSequence as Record<string, unknown> | Array<Record<string, unknown>>;
    const sourceItem = Array.isArray(sourceSeq) ? sourceSeq[0]! : sourceSeq;
    expect(sourceItem.ReferencedSOPInstanceUID).toBe(original.SOPInstanceUID);
    const equipment = ds.ContributingEquipmentSequence as Record<string, unknown> | Array<Record<string, unknown>>;
    const equipmentItem = Array.isArray(equipment) ? equipment[0]! : equipment;
    expect(equipmentItem.ManufacturerModelName).toBe('HealthGPT-nano 0.1.0');
    expect((ds.PixelSpacing as number[])[0]).toBeCloseTo(spacing[0]! / 4, 6);
    expect(ds.ImagePositionPatient).toEqual(original.ImagePositionPatient);
    const back = new Uint16Array((ds.PixelData as ArrayBuffer[])[0]!);
    expect(Buffer.from(back.buffer).equals(Buffer.from(pixels.buffer))).toBe(true);
  });

  it('writes an MRI-to-CT series as signed HU with a valid CT image IOD', () => {
    const srcFile = path.join(PYDICOM, 'MR_small.dcm');
    const src = readSourceAttributes(srcFile);
    const hu = new Int16Array(64 * 64).map((_, i) => (i % 2000) - 1000);
    const out = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-derived-ct-'));
    const written = writeDerivedSeries(
      {
        task: 'mri2ct',
        modality: 'CT',
        provenance: { ...provenance, demonstration: false },
        source: src,
        seriesNumber: 9002,
        incomplete: true,
        windowCenter: 40,
        windowWidth: 400,
        slices: [0, 1].map((k) => ({
          pixels: hu,
          rows: 64,
          columns: 64,
          pixelSpacing: [0.3125, 0.3125] as [number, number],
          imagePositionPatient: [0, 0, k * 5] as [number, number, number],
          imageOrientationPatient: [1, 0, 0, 0, 1, 0] as [number, number, number, number, number, number],
          source: { sopClassUid: src.SOPClassUID, sopInstanceUid: src.SOPInstanceUID },
        })),
      },
      out,
    );
    expect(written.files).toHaveLength(2);
    expect(new Set(written.sopInstanceUids).size).toBe(2);
    for (const f of written.files) expect(validate(f).errors).toEqual([]);
    const ds = readBack(written.files[1]!);
    expect(ds.Modality).toBe('CT');
    expect(ds.PixelRepresentation).toBe(1);
    expect(ds.RescaleType).toBe('HU');
    expect(String(ds.SeriesDescription)).toBe('AI MRI to CT synthesis INCOMPLETE');
    expect(ds.InstanceNumber).toBe(2);
  });

  it('refuses slices whose pixel count does not match the matrix', () => {
    const src = readSourceAttributes(path.join(PYDICOM, 'CT_small.dcm'));
    expect(() =>
      writeDerivedSeries(
        { task: 'recon', modality: 'CT', provenance, source: src, seriesNumber: 1, slices: [{ pixels: new Int16Array(10), rows: 4, columns: 4, pixelSpacing: [1, 1], imagePositionPatient: [0, 0, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0], source: { sopClassUid: '1.2', sopInstanceUid: '1.2.3' } }] },
        mkdtempSync(path.join(os.tmpdir(), 'healthgpt-derived-bad-')),
      ),
    ).toThrow(/pixel count/);
  });
});
