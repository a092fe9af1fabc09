/**
 * The colour viewer's pure parts on a real image (skimage's ihc.png): the brightness/contrast/gamma
 * table, and the ΔE2000 difference field between two RGB panes, checked sample by sample against
 * ciede2000 on the pixels the geometry says lie under each screen sample — including a 2x "super-
 * resolution" pane over the same field (different matrix, same physical size).
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ciede2000, rgbToLab } from '../../src-shared/colour/colour-difference';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { colouriseDeltaE, deltaEField, nearestPixel, rgbaHistograms } from '../../src-renderer/viewer/colour-difference-field';
import { colourLut, NEUTRAL_COLOUR } from '../../src-renderer/viewer/colour-view';
import { flatImagePair, physicalLength, scaleBar } from '../../src-renderer/viewer/physical-sync';

const ihc = PNG.sync.read(readFileSync('/usr/lib/python3/dist-packages/skimage/data/ihc.png'));
const N = ihc.width;
const rgba = new Uint8Array(ihc.data.buffer, ihc.data.byteOffset, ihc.data.byteLength);

function plane(size: number, spacing: number): ImagePlane {
  return { rows: size, columns: size, pixelSpacing: [spacing, spacing], imagePositionPatient: [spacing / 2, spacing / 2, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
}

function deltaAt(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number): number {
  const la = rgbToLab(a[ia * 4]!, a[ia * 4 + 1]!, a[ia * 4 + 2]!);
  const lb = rgbToLab(b[ib * 4]!, b[ib * 4 + 1]!, b[ib * 4 + 2]!);
  return ciede2000(la[0]!, la[1]!, la[2]!, lb[0]!, lb[1]!, lb[2]!);
}

describe('colour display table', () => {
  it('is the identity when neutral and follows contrast, brightness and gamma', () => {
    expect(Array.from(colourLut(NEUTRAL_COLOUR))).toEqual(Array.from({ length: 256 }, (_, i) => i));
    const bright = colourLut({ brightness: 0.2, contrast: 1, gamma: 1 });
    expect(bright[100]).toBe(Math.round(255 * (100 / 255 + 0.2)));
    const contrast = colourLut({ brightness: 0, contrast: 2, gamma: 1 });
    expect([contrast[0], contrast[64], contrast[255]]).toEqual([0, Math.round(255 * ((64 / 255 - 0.5) * 2 + 0.5)), 255]);
    const gamma = colourLut({ brightness: 0, contrast: 1, gamma: 2.2 });
    expect(gamma[128]).toBe(Math.round(255 * (128 / 255) ** (1 / 2.2)));
    expect(gamma[128]).toBeGreaterThan(128);
    // Out-of-range values are clamped, not trusted.
    expect(Array.from(colourLut({ brightness: Number.NaN, contrast: 1e9, gamma: 0 }))).toEqual(Array.from(colourLut({ brightness: 0, contrast: 5, gamma: 0.2 })));
  });
});

describe('ΔE2000 difference field between RGB panes', () => {
  it('is zero for the same image and ciede2000 of the pixels under each sample otherwise', () => {
    const p = plane(N, 0.25);
    const canvas = { width: N, height: N };
    const view = { scale: 1, translation: { x: 0, y: 0 } };
    const same = deltaEField({ plane: p, pixels: rgba }, view, { plane: p, pixels: rgba }, canvas, 4);
    expect(same.max).toBe(0);
    // The generated pane: the same tissue one pixel to the right.
    const shifted = new Uint8Array(rgba.length);
    for (let r = 0; r < N; r += 1) for (let c = 0; c < N; c += 1) shifted.set(rgba.subarray((r * N + Math.max(0, c - 1)) * 4, (r * N + Math.max(0, c - 1)) * 4 + 4), (r * N + c) * 4);
    const field = deltaEField({ plane: p, pixels: rgba }, view, { plane: p, pixels: shifted }, canvas, 4);
    expect(field.mean).toBeGreaterThan(0.5);
    for (const [i, j] of [[3, 7], [60, 100], [127, 0]] as const) {
      const x = (i + 0.5) * 4;
      const y = (j + 0.5) * 4;
      const idx = nearestPixel(p, x, y);
      expect(field.values[j * field.width + i]).toBeCloseTo(deltaAt(rgba, idx, shifted, idx), 4);
    }
    const colours = colouriseDeltaE(field);
    expect(colours.length).toBe(field.width * field.height * 4);
  });

  it('compares a 2x pane in physical space (each original pixel against the generated pixel at its place)', () => {
    const p = plane(N, 0.25);
    const p2 = plane(2 * N, 0.125);
    const up = new Uint8Array(4 * N * 4 * N);
    for (let r = 0; r < 2 * N; r += 1) for (let c = 0; c < 2 * N; c += 1) up.set(rgba.subarray(((r >> 1) * N + (c >> 1)) * 4, ((r >> 1) * N + (c >> 1)) * 4 + 4), (r * 2 * N + c) * 4);
    const field = deltaEField({ plane: p, pixels: rgba }, { scale: 1, translation: { x: 0, y: 0 } }, { plane: p2, pixels: up }, { width: N, height: N }, 2);
    // A nearest 2x upsampling holds the same colours at the same places: ΔE 0 everywhere.
    expect(field.max).toBe(0);
    expect(field.values.every((v) => v === 0)).toBe(true);
  });

  it('gives per-channel histograms of an RGBA pane', () => {
    const h = rgbaHistograms(rgba, 32);
    expect(h.channels.map((c) => c.reduce((s, v) => s + v, 0))).toEqual([N * N, N * N, N * N]);
  });
});

describe('flat image pairs', () => {
  const img = (spacing: [number, number] | null) => ({ index: 0, sopInstanceUid: 'x', instanceNumber: 1, frame: 0, rows: 8, columns: 8, imagePositionPatient: null, imageOrientationPatient: null, pixelSpacing: spacing, sliceThickness: null, sliceLocation: null });
  it('pairs two imported images when both state a pixel size or neither does, never one of each', () => {
    const known = { frameOfReferenceUid: null, images: [img([0.2, 0.2])] };
    const known2 = { frameOfReferenceUid: null, images: [img([0.05, 0.05])] };
    const unknown = { frameOfReferenceUid: null, images: [img(null)] };
    expect(flatImagePair(known, known2)).toBe(true);
    expect(flatImagePair(unknown, unknown)).toBe(true);
    expect(flatImagePair(known, unknown)).toBe(false);
    // A series with patient geometry but no frame of reference is still not synced.
    const positioned = { frameOfReferenceUid: null, images: [{ ...img([1, 1]), imagePositionPatient: [0, 0, 0] }] };
    expect(flatImagePair(positioned, known)).toBe(false);
    // Two-image series and series with a frame of reference are not flat pairs.
    expect(flatImagePair({ frameOfReferenceUid: null, images: [img(null), img(null)] }, unknown)).toBe(false);
    expect(flatImagePair({ frameOfReferenceUid: '1.2', images: [img(null)] }, unknown)).toBe(false);
  });
});

describe('microscopy units', () => {
  it('gives lengths under 1 mm in µm and the scale bar in µm for fine pixels', () => {
    expect(physicalLength(0.1234)).toMatchObject({ unit: 'µm', text: '123.4 µm' });
    expect(physicalLength(0.1234).value).toBeCloseTo(123.4, 9);
    expect(physicalLength(12.34)).toEqual({ value: 12.34, unit: 'mm', text: '12.3 mm' });
    // 0.5 µm pixels (ihc at 2,000,000 px/m), 150 screen pixels: a 50 µm bar.
    expect(scaleBar(0.0005, 150)).toMatchObject({ label: '50 µm', pixels: 100 });
    expect(scaleBar(0.01, 150)?.label).toBe('1 mm');
  });
});
