import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { DerivedSeriesWriter, readSourceAttributes, seriesDescription, stampReview, type DerivedSeriesRequest, type DerivedSlice, type ModelProvenance } from '../../../src-main/workflow/derived-dicom';

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
        runId: 'run-1a2b3c4d-0000-4000-8000-000000000001',
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
        runId: 'run-5e6f7a8b-0000-4000-8000-000000000002',
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
    expect(String(ds.SeriesDescription)).toBe('AI MRI to CT 5e6f7a8b UNREVIEWED INCOMPLETE');
    expect(ds.SeriesNumber).toBe(9002);
    expect(ds.InstanceNumber).toBe(2);
  });

  it('refuses slices whose pixel count does not match the matrix', () => {
    const src = readSourceAttributes(path.join(PYDICOM, 'CT_small.dcm'));
    expect(() =>
      writeDerivedSeries(
        { task: 'recon', runId: 'run-x', modality: 'CT', provenance, source: src, seriesNumber: 1, slices: [{ pixels: new Int16Array(10), rows: 4, columns: 4, pixelSpacing: [1, 1], imagePositionPatient: [0, 0, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0], source: { sopClassUid: '1.2', sopInstanceUid: '1.2.3' } }] },
        mkdtempSync(path.join(os.tmpdir(), 'healthgpt-derived-bad-')),
      ),
    ).toThrow(/pixel count/);
  });

  it('names task, run and review state in 64 characters, and a review stamp changes only the review attributes', () => {
    const longest = seriesDescription('mri2ct', 'run-5e6f7a8b-0000', 'unreviewed', true, true);
    expect(longest).toBe('AI MRI to CT 5e6f7a8b UNREVIEWED INCOMPLETE NOT FOR CLINICAL USE');
    expect(longest.length).toBeLessThanOrEqual(64);

    const srcFile = path.join(PYDICOM, 'CT_small.dcm');
    const src = readSourceAttributes(srcFile);
    const original = readBack(srcFile);
    const runId = 'run-0badcafe-0000-4000-8000-000000000003';
    const written = writeDerivedSeries(
      {
        task: 'recon', runId, modality: 'CT', provenance, source: src, seriesNumber: 9003,
        slices: [{ pixels: new Int16Array(64 * 64).map((_, i) => (i % 400) - 200), rows: 64, columns: 64, pixelSpacing: [1, 1], imagePositionPatient: [0, 0, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0], source: { sopClassUid: src.SOPClassUID, sopInstanceUid: String(original.SOPInstanceUID) } }],
      },
      mkdtempSync(path.join(os.tmpdir(), 'healthgpt-derived-stamp-')),
    );
    const fresh = readBack(written.files[0]!);
    expect(fresh.SeriesDescription).toBe('AI recon 0badcafe UNREVIEWED NOT FOR CLINICAL USE');
    expect(String(fresh.DerivationDescription)).toMatch(new RegExp(`run ${runId}; review: unreviewed`));
    expect(String(fresh.ImageComments)).toMatch(/AI-generated by HealthGPT, run run-0badcafe.*review: unreviewed/);

    const at = Date.parse('2026-12-02T10:00:00Z');
    const stampedFile = path.join(path.dirname(written.files[0]!), 'stamped.dcm');
    writeFileSync(stampedFile, stampReview(readFileSync(written.files[0]!), runId, { state: 'rejected', reviewer: 'ana', at }));
    expect(validate(stampedFile).errors).toEqual([]);
    const stamped = readBack(stampedFile);
    expect(stamped.SeriesDescription).toBe('AI recon 0badcafe REJECTED NOT FOR CLINICAL USE');
    expect(String(stamped.DerivationDescription)).toMatch(/; run run-0badcafe[-0-9a-f]+; review: rejected by ana on 2026-12-02$/);
    expect(String(stamped.DerivationDescription).match(/review:/g)).toHaveLength(1);
    expect(String(stamped.ImageComments)).toMatch(/review: rejected by ana on 2026-12-02/);
    for (const k of ['SOPInstanceUID', 'SeriesInstanceUID', 'SeriesNumber', 'StudyInstanceUID', 'ImagePositionPatient'] as const) expect(stamped[k]).toEqual(fresh[k]);
    expect(Buffer.from((stamped.PixelData as ArrayBuffer[])[0]!).equals(Buffer.from((fresh.PixelData as ArrayBuffer[])[0]!))).toBe(true);
    // Stamped again after a second decision: still one review clause, the newest.
    const again = readBack(writeAndReturn(stampedFile, stampReview(readFileSync(stampedFile), runId, { state: 'accepted', reviewer: 'ben', at })));
    expect(again.SeriesDescription).toBe('AI recon 0badcafe ACCEPTED NOT FOR CLINICAL USE');
    expect(String(again.DerivationDescription)).toMatch(/review: accepted by ben on 2026-12-02$/);
  });
});

function writeAndReturn(file: string, bytes: Uint8Array): string {
  const out = `${file}.again.dcm`;
  writeFileSync(out, bytes);
  return out;
}
