/** Slice ordering fallbacks and the shared patient-space geometry, on metadata read from real files. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchedZoom, patientToPixel, pixelToPatient, sliceNormal } from '../../../src-shared/dicom/geometry';
import { parseDicomBytes } from '../../../src-main/dicom/parse';
import { sortSeriesImages, type IndexedInstance } from '../../../src-main/dicom/series-index';
import { PYDICOM_FILES } from './fixtures';

function instance(name: string): IndexedInstance {
  const p = path.join(PYDICOM_FILES, name);
  return { path: p, meta: parseDicomBytes(readFileSync(p)).meta };
}

describe('slice sorting', () => {
  it('sorts by position along the normal even when instance numbers disagree', () => {
    const base = instance('CT_small.dcm');
    const normal = sliceNormal(base.meta.imageOrientationPatient)!;
    const make = (k: number, instanceNumber: number): IndexedInstance => ({
      path: `${base.path}#${k}`,
      meta: {
        ...base.meta,
        sopInstanceUid: `${base.meta.sopInstanceUid}.${k}`,
        instanceNumber,
        framePositions: [base.meta.framePositions[0]!.map((v, a) => v + normal[a]! * 2.5 * k)],
      },
    });
    const sorted = sortSeriesImages([make(2, 1), make(0, 3), make(1, 2)]);
    expect(sorted.sortedBy).toBe('image-position');
    expect(sorted.images.map((im) => im.instance.meta.instanceNumber)).toEqual([3, 2, 1]);
    expect(sorted.spacing).toBeCloseTo(2.5, 6);
  });

  it('falls back to Instance Number when positions are missing', () => {
    const base = instance('MR_small.dcm');
    const make = (n: number): IndexedInstance => ({ path: `${base.path}#${n}`, meta: { ...base.meta, instanceNumber: n, framePositions: [null] } });
    const sorted = sortSeriesImages([make(3), make(1), make(2)]);
    expect(sorted.sortedBy).toBe('instance-number');
    expect(sorted.images.map((im) => im.instance.meta.instanceNumber)).toEqual([1, 2, 3]);
  });

  it('gives every frame of a multi-frame file its own position (RT dose grid offsets)', () => {
    const dose = instance('rtdose.dcm');
    expect(dose.meta.frames).toBe(15);
    const sorted = sortSeriesImages([dose]);
    expect(sorted.images).toHaveLength(15);
    expect(sorted.sortedBy).toBe('image-position');
  });
});

describe('patient-space geometry', () => {
  it('round-trips pixel ↔ patient on a real image plane', () => {
    const m = instance('CT_small.dcm').meta;
    const plane = { imagePositionPatient: m.framePositions[0]!, imageOrientationPatient: m.imageOrientationPatient!, pixelSpacing: m.pixelSpacing!, rows: m.rows, columns: m.columns };
    const p = pixelToPatient(plane, 37.5, 91.25);
    const back = patientToPixel(plane, p);
    expect(back.column).toBeCloseTo(37.5, 9);
    expect(back.row).toBeCloseTo(91.25, 9);
    expect(back.distance).toBeCloseTo(0, 9);
    expect(pixelToPatient(plane, 0, 0)).toEqual(m.framePositions[0]);
  });

  it('matches zoom in physical units between different spacings', () => {
    // 1 mm pixels at zoom 2 show 2 screen px per mm; 0.5 mm pixels need zoom 1 for the same.
    expect(matchedZoom(2, 1, 0.5)).toBe(1);
  });
});
