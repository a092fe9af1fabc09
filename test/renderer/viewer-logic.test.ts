import { describe, expect, it } from 'vitest';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { colouriseDifference, differenceField, sampleBilinear, type SampledImage } from '../../src-renderer/viewer/difference-map';
import { COMPARISON_MODES, commandForKey, DEFAULT_KEYMAP, nextMode } from '../../src-renderer/viewer/keymap';
import { autoWindow, CT_PRESETS, presetFor } from '../../src-renderer/viewer/windowing';

/** A smooth field in patient mm, sampled on a plane's pixel centres as stored values (slope/intercept applied inverse). */
function sampledField(plane: ImagePlane, f: (x: number, y: number) => number, slope = 1, intercept = 0): SampledImage {
  const pixels = new Float32Array(plane.rows * plane.columns);
  const [rs = 1, cs = 1] = plane.pixelSpacing;
  const [ox = 0, oy = 0] = plane.imagePositionPatient;
  for (let r = 0; r < plane.rows; r += 1) for (let c = 0; c < plane.columns; c += 1) pixels[r * plane.columns + c] = (f(ox + c * cs, oy + r * rs) - intercept) / slope;
  return { plane, pixels, slope, intercept };
}

describe('windowing', () => {
  it('number keys give the CT presets on CT and an automatic window on MR', () => {
    const mr = new Uint16Array(10_000).map((_, i) => i % 1000);
    expect(presetFor(1, 'CT', mr, 1, -1024)).toEqual(CT_PRESETS[1]);
    expect(CT_PRESETS[3]).toMatchObject({ width: 1500, center: -600 });
    expect(CT_PRESETS[4]).toMatchObject({ width: 2500, center: 480 });
    const auto = presetFor(2, 'MR', mr, 1, 0);
    expect(auto.label).toBe('Auto');
    expect(auto.center - auto.width / 2).toBeCloseTo(10, -1);
    expect(auto.center + auto.width / 2).toBeCloseTo(989, -1);
  });

  it('auto window works in modality units and survives constant images', () => {
    const w = autoWindow(new Int16Array(1000).fill(100), 2, -1000);
    expect(w.width).toBeGreaterThanOrEqual(1);
    expect(w.center).toBeCloseTo(-800, 0);
  });
});

describe('keyboard map', () => {
  it('maps the documented keys and leaves chords and plain Tab alone', () => {
    expect(commandForKey({ key: '3' })).toEqual({ kind: 'preset', slot: 3 });
    expect(commandForKey({ key: 'PageDown' })).toEqual({ kind: 'scroll', delta: 10 });
    expect(commandForKey({ key: 'ArrowUp' })).toEqual({ kind: 'scroll', delta: -1 });
    expect(commandForKey({ key: 'I' })).toEqual({ kind: 'invert' });
    expect(commandForKey({ key: 'c', ctrlKey: true })).toBeNull();
    expect(commandForKey({ key: 'Tab' })).toBeNull();
    expect(commandForKey({ key: 'Tab', altKey: true })).toBeNull();
    expect(commandForKey({ key: '1', altKey: true })).toBeNull();
    expect(commandForKey({ key: '`' })).toEqual({ kind: 'other-pane' });
    expect(commandForKey({ key: 'q' })).toBeNull();
    // Rebinding is a different table.
    expect(commandForKey({ key: 'q' }, [{ key: 'q', command: { kind: 'reset' }, label: 'x' }])).toEqual({ kind: 'reset' });
  });

  it('no key is bound twice to different commands, and modes cycle through all five', () => {
    const seen = new Map<string, string>();
    for (const b of DEFAULT_KEYMAP) {
      const prev = seen.get(b.key);
      if (prev) expect(prev).toBe(JSON.stringify(b.command));
      seen.set(b.key, JSON.stringify(b.command));
    }
    let m = COMPARISON_MODES[0]!;
    const visited = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      visited.add(m);
      m = nextMode(m);
    }
    expect(visited.size).toBe(5);
    expect(m).toBe('side');
  });
});

describe('difference map in physical space', () => {
  const field = (x: number, y: number) => 3 * x - 2 * y + 0.01 * x * y;
  const a: ImagePlane = { rows: 64, columns: 64, pixelSpacing: [2, 2], imagePositionPatient: [-64, -64, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };
  const b: ImagePlane = { rows: 256, columns: 256, pixelSpacing: [0.5, 0.5], imagePositionPatient: [-64.75, -64.75, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0] };

  it('bilinear sampling reproduces a linear field exactly between pixel centres', () => {
    const img = sampledField(a, (x, y) => 3 * x - 2 * y);
    // Cornerstone pixel (10.5, 20.5) is the centre of column 10 row 20: x = -64 + 20, y = -64 + 40.
    expect(sampleBilinear(img, 10.5, 20.5)).toBeCloseTo(3 * -44 - 2 * -24, 4);
    expect(sampleBilinear(img, 11, 21)).toBeCloseTo(3 * -43 - 2 * -23, 4);
    expect(sampleBilinear(img, -5, 3)).toBeNaN();
  });

  it('the same anatomy on a 4x matrix with another rescale gives a near-zero difference; a real change shows up', () => {
    const orig = sampledField(a, field, 1, 0);
    const gen = sampledField(b, field, 0.5, -1024);
    const view = { scale: 6, translation: { x: 0, y: 0 } };
    const canvas = { width: 300, height: 300 };
    const same = differenceField(orig, view, gen, canvas, 3);
    const finite = Array.from(same.values).filter((v) => !Number.isNaN(v));
    expect(finite.length).toBeGreaterThan(5000);
    // Bilinear interpolation of the xy term leaves a small error; a millimetre of misregistration would give ~3.
    expect(Math.max(...finite.map(Math.abs))).toBeLessThan(0.6);
    const changed = sampledField(b, (x, y) => field(x, y) + (Math.hypot(x, y) < 10 ? 100 : 0), 0.5, -1024);
    const diff = differenceField(orig, view, changed, canvas, 3);
    const centre = diff.values[Math.floor(diff.height / 2) * diff.width + Math.floor(diff.width / 2)];
    expect(centre).toBeCloseTo(100, 0);
    const rgba = colouriseDifference(diff, 100);
    const k = (Math.floor(diff.height / 2) * diff.width + Math.floor(diff.width / 2)) * 4;
    expect(rgba[k]).toBe(255); // positive → red
    expect(rgba[k + 2]).toBe(0);
  });
});
