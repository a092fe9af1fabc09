import { describe, expect, it } from 'vitest';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { generationStatus, wholeCount } from '../../src-renderer/panels/workflow/progress-text';
import { differenceField, type SampledImage } from '../../src-renderer/viewer/difference-map';
import { commandForKey } from '../../src-renderer/viewer/keymap';
import {
  acquisitionText,
  ageSexText,
  defaultWindowLink,
  differenceKind,
  measurementComplete,
  presetStillShown,
  sliceMatchTolerance,
  sliceSpacing,
  valueUnit,
} from '../../src-renderer/viewer/reading-rules';

describe('units of a pane', () => {
  it('HU only for CT; MR and others are named, never HU', () => {
    expect(valueUnit('CT')).toBe('HU');
    expect(valueUnit('ct')).toBe('HU');
    expect(valueUnit('MR')).toBe('MR intensity (a.u.)');
    expect(valueUnit('OT')).toBe('OT value (a.u.)');
    expect(valueUnit(null)).toBe('value (a.u.)');
    for (const m of ['MR', 'PT', 'OT', '', null]) expect(valueUnit(m)).not.toMatch(/HU/);
  });
});

describe('measurement validity', () => {
  const p = (x: number, y: number) => ({ x, y });
  it('a single click makes no length, no angle and no ROI', () => {
    expect(measurementComplete('Length', { handles: { start: p(10, 10), end: p(10, 10) }, length: 0 })).toBe(false);
    // What Cornerstone holds after one click with Angle: start = middle, angle NaN.
    expect(measurementComplete('Angle', { handles: { start: p(5, 5), middle: p(5, 5), end: p(5, 5) }, rAngle: NaN })).toBe(false);
    expect(measurementComplete('EllipticalRoi', { handles: { start: p(3, 3), end: p(3, 3) }, cachedStats: { mean: NaN, area: 0 } })).toBe(false);
    expect(measurementComplete('Length', { handles: { start: p(0, 0) }, length: 3 })).toBe(false);
  });
  it('drawn measurements are complete', () => {
    expect(measurementComplete('Length', { handles: { start: p(0, 0), end: p(30, 40) }, length: 25 })).toBe(true);
    expect(measurementComplete('Angle', { handles: { start: p(0, 10), middle: p(0, 0), end: p(10, 0) }, rAngle: 90 })).toBe(true);
    expect(measurementComplete('EllipticalRoi', { handles: { start: p(0, 0), end: p(8, 6) }, cachedStats: { mean: 40, area: 30 } })).toBe(true);
    // An angle still waiting for its third point (end on the middle) is not.
    expect(measurementComplete('Angle', { handles: { start: p(0, 10), middle: p(0, 0), end: p(0, 0) }, rAngle: NaN })).toBe(false);
  });
  it('Delete and Backspace delete a measurement', () => {
    expect(commandForKey({ key: 'Delete' })).toEqual({ kind: 'delete-measurement' });
    expect(commandForKey({ key: 'Backspace' })).toEqual({ kind: 'delete-measurement' });
  });
});

describe('window/level link and preset label', () => {
  it('links by default only when both panes share a unit', () => {
    expect(defaultWindowLink({ modality: 'CT' }, { modality: 'CT' })).toBe(true);
    expect(defaultWindowLink({ modality: 'MR' }, { modality: 'MR' })).toBe(true);
    expect(defaultWindowLink({ modality: 'CT' }, { modality: 'MR' })).toBe(false);
    expect(defaultWindowLink({ modality: 'CT' }, null)).toBe(false);
  });
  it('a preset label lasts only while its window is on screen', () => {
    const brain = { windowWidth: 80, windowCenter: 40 };
    expect(presetStillShown(brain, { windowWidth: 80, windowCenter: 40 })).toBe(true);
    expect(presetStillShown(brain, { windowWidth: 239, windowCenter: 120 })).toBe(false);
    expect(presetStillShown(null, brain)).toBe(false);
  });
});

describe('linked slices', () => {
  it('slice spacing is the median gap along the normal; the tolerance is half the coarser one', () => {
    const z = (v: number) => [0, 0, v];
    expect(sliceSpacing([z(0), z(2.5), z(5), z(7.5)], [0, 0, 1])).toBeCloseTo(2.5, 9);
    expect(sliceSpacing([z(3)], [0, 0, 1])).toBeNull();
    expect(sliceMatchTolerance([2.5, 2])).toBeCloseTo(1.26, 9);
    expect(sliceMatchTolerance([null, 5])).toBeCloseTo(2.51, 9);
    expect(sliceMatchTolerance([0.3])).toBeCloseTo(0.51, 9);
  });
});

describe('difference across modalities', () => {
  it('same modality: in its unit; CT against MR: refused unless a normalised difference is asked for', () => {
    expect(differenceKind('CT', 'CT', false)).toEqual({ kind: 'units', unit: 'HU' });
    const refused = differenceKind('CT', 'MR', false);
    expect(refused.kind).toBe('refused');
    expect(refused.kind === 'refused' && refused.reason).toMatch(/CT \(HU\).*MR \(MR intensity/);
    expect(differenceKind('CT', 'MR', true)).toEqual({ kind: 'normalised' });
  });

  it('the normalised difference of one anatomy in two value scales is ~0, the raw one is not', () => {
    const plane: ImagePlane = { rows: 48, columns: 48, pixelSpacing: [1, 1], imagePositionPatient: [-24, -24, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
    const pixels = (f: (x: number, y: number) => number) => Float32Array.from({ length: 48 * 48 }, (_, k) => f((k % 48) - 24, Math.floor(k / 48) - 24));
    const anatomy = (x: number, y: number) => (Math.hypot(x, y) < 12 ? 1 : 0) + 0.01 * x;
    const ct: SampledImage = { plane, pixels: pixels((x, y) => 1000 * anatomy(x, y) - 1000), slope: 1, intercept: 0 };
    const mr: SampledImage = { plane, pixels: pixels((x, y) => 3 * anatomy(x, y) + 200), slope: 1, intercept: 0 };
    const view = { scale: 5, translation: { x: 0, y: 0 } };
    const canvas = { width: 240, height: 240 };
    const raw = differenceField(ct, view, mr, canvas, 4);
    const norm = differenceField(ct, view, mr, canvas, 4, true);
    const finite = (v: Float32Array) => Array.from(v).filter((x) => !Number.isNaN(x));
    expect(Math.max(...finite(raw.values).map(Math.abs))).toBeGreaterThan(100);
    expect(Math.max(...finite(norm.values).map(Math.abs))).toBeLessThan(0.05);
  });
});

describe('progress text', () => {
  it('counts are whole numbers and a status line says each count once', () => {
    expect(wholeCount(2.4609375, 107)).toBe('2/107');
    expect(wholeCount(107, 107)).toBe('107/107');
    expect(wholeCount(0, 0)).toBe('0/0');
    const s = generationStatus({ slicesWritten: 2, total: 107, done: 2.4609375 });
    expect(s).toBe('2 of 107 slices written · generating slice 3');
    expect(s).not.toMatch(/\d\.\d/);
    expect(generationStatus({ slicesWritten: 10, total: 10, done: 10 })).toBe('10 of 10 slices written');
    expect(generationStatus({ slicesWritten: 0, total: 1, done: 0.5 })).toBe('0 of 1 slice written · generating slice 1');
  });
});

describe('overlay facts', () => {
  it('age/sex, kVp for CT and TR/TE for MR, nothing invented when absent', () => {
    expect(ageSexText({ patientAge: '045Y', patientSex: 'F' })).toBe('045Y F');
    expect(ageSexText({ patientSex: 'M' })).toBe('M');
    expect(ageSexText({})).toBe('');
    expect(acquisitionText({ kvp: 120 })).toBe('120 kVp');
    expect(acquisitionText({ repetitionTime: 4000.5, echoTime: 12.345 })).toBe('TR 4000.5 TE 12.35 ms');
    expect(acquisitionText({ kvp: null, repetitionTime: null })).toBe('');
    expect(acquisitionText(undefined)).toBe('');
  });
});
