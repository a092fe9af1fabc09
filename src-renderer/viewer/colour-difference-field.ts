/**
 * The colour-true difference map for two RGB panes: for each screen sample of the original pane, the
 * physical point under it is looked up in both images (nearest pixel: a colour is never blended from
 * its neighbours) and their CIEDE2000 ΔE is taken, as difference-map.ts does for grey values. Pure
 * functions over the RGBA pixels Cornerstone holds; no DOM.
 */
import { ciede2000, channelHistograms, deltaEColour, rgbToLab, type ChannelHistograms } from '../../src-shared/colour/colour-difference';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { canvasToImagePixel, cornerstonePixelToPatient, patientToCornerstonePixel, type CanvasSize, type ViewPlacement } from './physical-sync';

export interface RgbaImage {
  plane: ImagePlane;
  /** RGBA, 4 bytes per pixel (what the image loader gives Cornerstone for colour frames). */
  pixels: ArrayLike<number>;
}

/** The pixel index under a Cornerstone pixel coordinate (centres at i + 0.5), or -1 outside. */
export function nearestPixel(plane: ImagePlane, x: number, y: number): number {
  const c = Math.floor(x);
  const r = Math.floor(y);
  if (c < 0 || r < 0 || c >= plane.columns || r >= plane.rows) return -1;
  return r * plane.columns + c;
}

export interface DeltaEField {
  width: number;
  height: number;
  /** Canvas pixels per sample. */
  step: number;
  /** ΔE2000 per sample; NaN where either image has no pixel. */
  values: Float32Array;
  mean: number;
  /** 99th percentile of ΔE (the colour bar's top, at least 1). */
  range: number;
  max: number;
}

export function deltaEField(original: RgbaImage, originalView: ViewPlacement, generated: RgbaImage, canvas: CanvasSize, step = 2): DeltaEField {
  const width = Math.max(1, Math.ceil(canvas.width / step));
  const height = Math.max(1, Math.ceil(canvas.height / step));
  const values = new Float32Array(width * height);
  const seen: number[] = [];
  const la = [0, 0, 0];
  const lb = [0, 0, 0];
  let sum = 0;
  let max = 0;
  for (let j = 0; j < height; j += 1) {
    for (let i = 0; i < width; i += 1) {
      const p = canvasToImagePixel(original.plane, originalView, canvas, { x: (i + 0.5) * step, y: (j + 0.5) * step });
      const ia = nearestPixel(original.plane, p.x, p.y);
      let d = NaN;
      if (ia >= 0) {
        const q = patientToCornerstonePixel(generated.plane, cornerstonePixelToPatient(original.plane, p));
        const ib = nearestPixel(generated.plane, q.x, q.y);
        if (ib >= 0) {
          const A = original.pixels;
          const B = generated.pixels;
          rgbToLab(A[ia * 4] ?? 0, A[ia * 4 + 1] ?? 0, A[ia * 4 + 2] ?? 0, 255, la);
          rgbToLab(B[ib * 4] ?? 0, B[ib * 4 + 1] ?? 0, B[ib * 4 + 2] ?? 0, 255, lb);
          d = ciede2000(la[0]!, la[1]!, la[2]!, lb[0]!, lb[1]!, lb[2]!);
          seen.push(d);
          sum += d;
          if (d > max) max = d;
        }
      }
      values[j * width + i] = d;
    }
  }
  seen.sort((x, y) => x - y);
  const p99 = seen.length ? (seen[Math.floor(0.99 * (seen.length - 1))] ?? 0) : 0;
  return { width, height, step, values, mean: seen.length ? sum / seen.length : 0, range: Math.max(1, p99), max };
}

export function colouriseDeltaE(field: DeltaEField, range = field.range): Uint8ClampedArray {
  const out = new Uint8ClampedArray(field.width * field.height * 4);
  for (let k = 0; k < field.values.length; k += 1) {
    const v = field.values[k] ?? NaN;
    if (Number.isNaN(v)) continue; // transparent outside either image
    const [r, g, b] = deltaEColour(v, range);
    out.set([r, g, b, 255], k * 4);
  }
  return out;
}

/** R, G and B histograms of an RGBA image (alpha ignored). */
export function rgbaHistograms(pixels: ArrayLike<number>, bins = 64): ChannelHistograms {
  const n = Math.floor(pixels.length / 4);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i += 1) {
    rgb[i * 3] = pixels[i * 4] ?? 0;
    rgb[i * 3 + 1] = pixels[i * 4 + 1] ?? 0;
    rgb[i * 3 + 2] = pixels[i * 4 + 2] ?? 0;
  }
  return channelHistograms(rgb, 3, 255, bins);
}
