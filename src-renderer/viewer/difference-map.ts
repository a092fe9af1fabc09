/**
 * Difference map between the two panes, computed in physical space: for each screen sample of the
 * original pane, the patient-space point under it is looked up in both images (bilinear, modality
 * units) and the difference generated − original is taken. Different matrices and spacings are
 * handled by the geometry, not by pixel indices. Pure functions, no DOM.
 */
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { canvasToImagePixel, cornerstonePixelToPatient, patientToCornerstonePixel, type CanvasSize, type ViewPlacement } from './physical-sync';

export interface SampledImage {
  plane: ImagePlane;
  pixels: ArrayLike<number>;
  slope: number;
  intercept: number;
}

/** Bilinear sample at a Cornerstone pixel coordinate (pixel centres at i + 0.5); NaN outside. */
export function sampleBilinear(img: SampledImage, x: number, y: number): number {
  const { rows, columns } = img.plane;
  const fx = x - 0.5;
  const fy = y - 0.5;
  if (fx < -0.5 || fy < -0.5 || fx > columns - 0.5 || fy > rows - 0.5) return NaN;
  const x0 = Math.max(0, Math.min(columns - 1, Math.floor(fx)));
  const y0 = Math.max(0, Math.min(rows - 1, Math.floor(fy)));
  const x1 = Math.min(columns - 1, x0 + 1);
  const y1 = Math.min(rows - 1, y0 + 1);
  const tx = Math.max(0, Math.min(1, fx - x0));
  const ty = Math.max(0, Math.min(1, fy - y0));
  const p = img.pixels;
  const v00 = p[y0 * columns + x0] ?? 0;
  const v10 = p[y0 * columns + x1] ?? 0;
  const v01 = p[y1 * columns + x0] ?? 0;
  const v11 = p[y1 * columns + x1] ?? 0;
  const v = (v00 * (1 - tx) + v10 * tx) * (1 - ty) + (v01 * (1 - tx) + v11 * tx) * ty;
  return v * img.slope + img.intercept;
}

export interface DifferenceField {
  width: number;
  height: number;
  /** Canvas pixels per sample. */
  step: number;
  /** generated − original per sample, NaN where either image has no data. */
  values: Float32Array;
  /** Robust display range: the 99th percentile of |difference| (at least 1). */
  range: number;
}

/**
 * `normalise`: each image is first z-scored over the samples where both have data (mean 0, SD 1), so the
 * field compares structure, not values: the only honest difference between modalities (CT HU against
 * synthetic MR intensities). Its values are then in SD units, not in either modality's unit.
 */
export function differenceField(
  original: SampledImage,
  originalView: ViewPlacement,
  generated: SampledImage,
  canvas: CanvasSize,
  step = 2,
  normalise = false,
): DifferenceField {
  const width = Math.max(1, Math.ceil(canvas.width / step));
  const height = Math.max(1, Math.ceil(canvas.height / step));
  const as = new Float32Array(width * height).fill(NaN);
  const bs = new Float32Array(width * height).fill(NaN);
  for (let j = 0; j < height; j += 1) {
    for (let i = 0; i < width; i += 1) {
      const c = { x: (i + 0.5) * step, y: (j + 0.5) * step };
      const p = canvasToImagePixel(original.plane, originalView, canvas, c);
      const a = sampleBilinear(original, p.x, p.y);
      if (Number.isNaN(a)) continue;
      const q = patientToCornerstonePixel(generated.plane, cornerstonePixelToPatient(original.plane, p));
      as[j * width + i] = a;
      bs[j * width + i] = sampleBilinear(generated, q.x, q.y);
    }
  }
  const za = normalise ? zScore(as, bs) : { mean: 0, sd: 1 };
  const zb = normalise ? zScore(bs, as) : { mean: 0, sd: 1 };
  const values = new Float32Array(width * height);
  const magnitudes: number[] = [];
  for (let k = 0; k < values.length; k += 1) {
    const d = ((bs[k] ?? NaN) - zb.mean) / zb.sd - ((as[k] ?? NaN) - za.mean) / za.sd;
    values[k] = d;
    if (!Number.isNaN(d) && k % 3 === 0) magnitudes.push(Math.abs(d));
  }
  magnitudes.sort((x, y) => x - y);
  const p99 = magnitudes.length ? (magnitudes[Math.floor(0.99 * (magnitudes.length - 1))] ?? 0) : 0;
  return { width, height, step, values, range: normalise ? Math.max(0.1, p99) : Math.max(1, p99) };
}

/** Mean and SD of `v` where both `v` and `other` have data (SD at least a tiny positive number). */
function zScore(v: Float32Array, other: Float32Array): { mean: number; sd: number } {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for (let k = 0; k < v.length; k += 1) {
    const x = v[k] ?? NaN;
    if (Number.isNaN(x) || Number.isNaN(other[k] ?? NaN)) continue;
    n += 1;
    sum += x;
    sum2 += x * x;
  }
  if (n === 0) return { mean: 0, sd: 1 };
  const mean = sum / n;
  return { mean, sd: Math.max(1e-6, Math.sqrt(Math.max(0, sum2 / n - mean * mean))) };
}

/** Diverging colour map: blue (negative) → black (0) → red/yellow (positive); transparent for NaN. */
export function divergingColour(t: number): [number, number, number, number] {
  if (Number.isNaN(t)) return [0, 0, 0, 0];
  const u = Math.max(-1, Math.min(1, t));
  if (u >= 0) return [Math.round(255 * Math.min(1, u * 1.6)), Math.round(255 * Math.max(0, u * 1.6 - 0.6)), 0, 255];
  const v = -u;
  return [0, Math.round(255 * Math.max(0, v * 1.6 - 0.6)), Math.round(255 * Math.min(1, v * 1.6)), 255];
}

export function colouriseDifference(field: DifferenceField, range = field.range): Uint8ClampedArray {
  const out = new Uint8ClampedArray(field.width * field.height * 4);
  for (let k = 0; k < field.values.length; k += 1) {
    const [r, g, b, a] = divergingColour((field.values[k] ?? NaN) / range);
    out[k * 4] = r;
    out[k * 4 + 1] = g;
    out[k * 4 + 2] = b;
    out[k * 4 + 3] = a;
  }
  return out;
}
