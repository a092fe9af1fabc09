import { describe, expect, it } from 'vitest';
import { resolveWindow, toModalityUnits, windowTo8bit } from '../../../src-main/model/model-input';
import { outputToStored } from '../../../src-main/workflow/intensity';

describe('intensity mapping between DICOM and the model', () => {
  it('applies the modality LUT and a fixed window to 8 bits, clipping outside it', () => {
    const hu = toModalityUnits({ pixels: new Int16Array([0, 1024, 2048, 3072]), rescaleSlope: 1, rescaleIntercept: -1024 });
    expect(Array.from(hu)).toEqual([-1024, 0, 1024, 2048]);
    const w = resolveWindow(hu, { center: 40, width: 400 });
    expect([w.lo, w.hi]).toEqual([-160, 240]);
    expect(Array.from(windowTo8bit(hu, w.lo, w.hi))).toEqual([0, 102, 255, 255]);
    expect(w.text).toBe('W 400 / L 40');
  });

  it("resolves 'auto' to the 0.5–99.5th percentile, so a few outliers do not flatten the image", () => {
    const values = new Float32Array(1000).map((_, i) => i);
    values[999] = 1e6; // one hot pixel
    const w = resolveWindow(values, 'auto');
    expect(w.lo).toBeCloseTo(5, 0);
    expect(w.hi).toBeLessThan(1000);
    expect(resolveWindow(new Float32Array(10).fill(7), 'auto').hi).toBe(8);
  });

  it('maps model output 0..1 back to HU (signed) or MR units (unsigned), clamped to the stored type', () => {
    expect(Array.from(outputToStored(new Float32Array([0, 0.5, 1, 2, -1]), [-1000, 2000], true))).toEqual([-1000, 500, 2000, 2000, -1000]);
    const mr = outputToStored(new Float32Array([0, 1]), [0, 1000], false);
    expect(mr).toBeInstanceOf(Uint16Array);
    expect(Array.from(mr)).toEqual([0, 1000]);
  });
});
