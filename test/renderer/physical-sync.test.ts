import { describe, expect, it } from 'vitest';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import {
  canvasToImagePixel,
  cornerstonePixelToPatient,
  imagePixelToCanvas,
  mmPerScreenPixel,
  orientationMarkers,
  planeOf,
  scaleBar,
  syncedPlacement,
  syncedSlice,
  viewCentre,
} from '../../src-renderer/viewer/physical-sync';

// An axial 256² matrix at 0.8 mm and a "super-resolution" 1024² matrix over the same field (0.2 mm),
// shifted origin so the pixel centres do not coincide, and a coronal plane for the markers.
const original: ImagePlane = { rows: 256, columns: 256, pixelSpacing: [0.8, 0.8], imagePositionPatient: [-102, -110, 30], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
const superRes: ImagePlane = { rows: 1024, columns: 1024, pixelSpacing: [0.2, 0.2], imagePositionPatient: [-102.3, -110.3, 30], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
const anisotropic: ImagePlane = { rows: 200, columns: 300, pixelSpacing: [1.5, 0.75], imagePositionPatient: [-120, -100, 30], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
const canvas = { width: 700, height: 600 };

function patientAtCanvas(plane: ImagePlane, view: { scale: number; translation: { x: number; y: number } }, c: { x: number; y: number }) {
  return cornerstonePixelToPatient(plane, canvasToImagePixel(plane, view, canvas, c));
}

describe('physical pane sync', () => {
  it('canvas ↔ image pixel mapping round-trips and puts pixel centres where Cornerstone draws them', () => {
    const view = { scale: 2.1, translation: { x: 13.5, y: -7.25 } };
    for (const c of [{ x: 0, y: 0 }, { x: 350, y: 300 }, { x: 123.4, y: 567.8 }]) {
      const p = canvasToImagePixel(original, view, canvas, c);
      const back = imagePixelToCanvas(original, view, canvas, p);
      expect(back.x).toBeCloseTo(c.x, 9);
      expect(back.y).toBeCloseTo(c.y, 9);
    }
    // With no pan the canvas centre is the image centre; the first pixel's centre is IPP.
    const centre = canvasToImagePixel(original, { scale: 1, translation: { x: 0, y: 0 } }, canvas, { x: 350, y: 300 });
    expect(centre).toEqual({ x: 128, y: 128 });
    expect(cornerstonePixelToPatient(original, { x: 0.5, y: 0.5 })).toEqual([-102, -110, 30]);
  });

  it('every canvas point shows the same patient point in both panes after sync, across 4x matrix and anisotropic pixels', () => {
    const view = { scale: 1.7, translation: { x: 21, y: -9 } };
    for (const target of [superRes, anisotropic]) {
      const synced = syncedPlacement(original, view, target);
      expect(mmPerScreenPixel(target, synced.scale)).toBeCloseTo(mmPerScreenPixel(original, view.scale), 9);
      for (const c of [{ x: 10, y: 20 }, { x: 350, y: 300 }, { x: 690, y: 590 }, { x: 512.3, y: 77.7 }]) {
        const a = patientAtCanvas(original, view, c);
        const b = patientAtCanvas(target, synced, c);
        for (let k = 0; k < 3; k += 1) expect(b[k]).toBeCloseTo(a[k] ?? NaN, 6);
      }
    }
  });

  it('a pixel-based zoom copy (what panZoomSynchronizer does) would be wrong, which is why we sync in mm', () => {
    const view = { scale: 2, translation: { x: 0, y: 0 } };
    const naive = patientAtCanvas(superRes, view, { x: 10, y: 10 });
    const right = patientAtCanvas(superRes, syncedPlacement(original, view, superRes), { x: 10, y: 10 });
    const reference = patientAtCanvas(original, view, { x: 10, y: 10 });
    expect(Math.abs((naive[0] ?? 0) - (reference[0] ?? 0))).toBeGreaterThan(50);
    expect(right[0]).toBeCloseTo(reference[0] ?? NaN, 6);
  });

  it('scroll sync picks the target slice nearest in mm along its own normal', () => {
    // Source at z = 31.2 mm; target stack every 2.5 mm from z = 20, listed head-first (descending).
    const src: ImagePlane = { ...original, imagePositionPatient: [-102, -110, 31.2] };
    const positions = Array.from({ length: 10 }, (_, i) => [-100, -100, 42.5 - 2.5 * i]);
    const hit = syncedSlice(src, { scale: 1, translation: { x: 0, y: 0 } }, positions, [1, 0, 0, 0, 1, 0]);
    expect(hit).not.toBeNull();
    expect(positions[hit!.index]?.[2]).toBe(30);
    expect(hit!.distanceMm).toBeCloseTo(1.2, 9);
    expect(syncedSlice(src, { scale: 1, translation: { x: 0, y: 0 } }, [null], [1, 0, 0, 0, 1, 0])).toBeNull();
  });

  it('view centre moves by the pan in mm', () => {
    const a = viewCentre(original, { scale: 1, translation: { x: 0, y: 0 } });
    const b = viewCentre(original, { scale: 3, translation: { x: 10, y: -5 } });
    expect((b[0] ?? 0) - (a[0] ?? 0)).toBeCloseTo(-8, 9);
    expect((b[1] ?? 0) - (a[1] ?? 0)).toBeCloseTo(4, 9);
  });

  it('orientation markers follow the direction cosines', () => {
    expect(orientationMarkers([1, 0, 0, 0, 1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    expect(orientationMarkers([1, 0, 0, 0, 0, -1])).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F' });
    expect(orientationMarkers([0, 1, 0, 0, 0, -1])).toEqual({ left: 'A', right: 'P', top: 'H', bottom: 'F' });
    expect(orientationMarkers([0.866, 0.5, 0, 0, 0, -1]).right).toBe('LP');
  });

  it('scale bar picks a round length that fits', () => {
    expect(scaleBar(0.5, 150)).toEqual({ mm: 50, pixels: 100, label: '5 cm' });
    expect(scaleBar(0.01, 150)?.label).toBe('1 mm');
    expect(scaleBar(0, 150)).toBeNull();
  });

  it('incomplete geometry falls back to an axial 1 mm grid', () => {
    const p = planeOf({ rows: 10, columns: 20, imagePositionPatient: null, imageOrientationPatient: [0, 0, 0, 0, 0, 0], pixelSpacing: null });
    expect(p.pixelSpacing).toEqual([1, 1]);
    expect(p.imageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
  });
});
