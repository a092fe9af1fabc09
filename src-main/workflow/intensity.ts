/**
 * Between DICOM values and the model: stored pixels → modality units (rescale) → an 8-bit window the
 * model was trained with; and the model's 0..1 output → stored values of the derived series.
 */

export type InputWindow = 'auto' | { center: number; width: number };
export interface OutputMapping {
  modality: 'CT' | 'MR' | 'same';
  range: [number, number];
}

export interface ModalityPixels {
  pixels: ArrayLike<number>;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export function toModalityUnits(frame: ModalityPixels): Float32Array {
  const out = new Float32Array(frame.pixels.length);
  const { rescaleSlope: m, rescaleIntercept: b } = frame;
  for (let i = 0; i < out.length; i += 1) out[i] = (frame.pixels[i] ?? 0) * m + b;
  return out;
}

/** The value at the given fraction of the sorted values (nearest rank), without sorting a full copy twice. */
function percentile(values: Float32Array, fraction: number): number {
  const sorted = Float32Array.from(values).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(fraction * (sorted.length - 1))));
  return sorted[i] ?? 0;
}

/** Resolves 'auto' to the slice's 0.5th–99.5th percentile, as the training data did. */
export function resolveWindow(values: Float32Array, window: InputWindow): { lo: number; hi: number; text: string } {
  if (window === 'auto') {
    const lo = percentile(values, 0.005);
    let hi = percentile(values, 0.995);
    if (hi <= lo) hi = lo + 1;
    return { lo, hi, text: `auto ${lo.toFixed(1)}..${hi.toFixed(1)} (0.5–99.5th percentile)` };
  }
  const lo = window.center - window.width / 2;
  const hi = window.center + window.width / 2;
  return { lo, hi, text: `W ${window.width} / L ${window.center}` };
}

export function windowTo8bit(values: Float32Array, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(values.length);
  const scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i += 1) {
    const v = ((values[i] ?? 0) - lo) * scale;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/** Model output in [0,1] → stored values in the output modality's units (HU for CT). */
export function outputToStored(pixels01: Float32Array, range: [number, number], signed: boolean): Int16Array | Uint16Array {
  const [lo, hi] = range;
  const out = signed ? new Int16Array(pixels01.length) : new Uint16Array(pixels01.length);
  const min = signed ? -32768 : 0;
  const max = signed ? 32767 : 65535;
  for (let i = 0; i < pixels01.length; i += 1) {
    const p = Math.min(1, Math.max(0, pixels01[i] ?? 0));
    const v = Math.round(lo + p * (hi - lo));
    out[i] = v < min ? min : v > max ? max : v;
  }
  return out;
}
