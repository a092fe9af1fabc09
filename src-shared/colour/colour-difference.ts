/**
 * Colour-true comparison of two RGB images: sRGB → CIELAB (D65, 2° observer; the constants skimage's
 * rgb2lab uses, so the test can hold us to it), the CIEDE2000 colour difference (Sharma, Wu and Dalal
 * 2005), a per-pixel ΔE map, and per-channel histograms. Pure TypeScript: the renderer and main both use it.
 */

export type RgbSamples = ArrayLike<number>;

/** skimage's xyz_from_rgb (sRGB primaries, D65). */
const M = [0.412453, 0.35758, 0.180423, 0.212671, 0.71516, 0.072169, 0.019334, 0.119193, 0.950227] as const;
const WHITE = [0.95047, 1, 1.08883] as const;

function linear(c: number): number {
  return c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92;
}

function labF(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

/** linear() of every 8-bit value: the same numbers, three powers fewer per pixel. */
const LINEAR_8 = Float64Array.from({ length: 256 }, (_, v) => linear(v / 255));

function linearOf(v: number, maxValue: number): number {
  return maxValue === 255 && v >= 0 && v <= 255 && Number.isInteger(v) ? (LINEAR_8[v] ?? 0) : linear(v / maxValue);
}

/** sRGB samples scaled to 0..1 by `maxValue` (255 for 8-bit, 65535 for 16-bit) → [L, a, b]. */
export function rgbToLab(r: number, g: number, b: number, maxValue = 255, out: number[] = [0, 0, 0]): number[] {
  const R = linearOf(r, maxValue);
  const G = linearOf(g, maxValue);
  const B = linearOf(b, maxValue);
  const x = labF((M[0] * R + M[1] * G + M[2] * B) / WHITE[0]);
  const y = labF((M[3] * R + M[4] * G + M[5] * B) / WHITE[1]);
  const z = labF((M[6] * R + M[7] * G + M[8] * B) / WHITE[2]);
  out[0] = 116 * y - 16;
  out[1] = 500 * (x - y);
  out[2] = 200 * (y - z);
  return out;
}

const TWO_PI = 2 * Math.PI;
const POW25_7 = 25 ** 7;
const DEG = Math.PI / 180;

function hueAngle(a: number, b: number): number {
  const h = Math.atan2(b, a);
  return h < 0 ? h + TWO_PI : h;
}

/** CIEDE2000 ΔE between two Lab colours (kL = kC = kH = 1 by default). */
export function ciede2000(L1: number, a1: number, b1: number, L2: number, a2: number, b2: number, kL = 1, kC = 1, kH = 1): number {
  const cBarAb = 0.5 * (Math.hypot(a1, b1) + Math.hypot(a2, b2));
  const c7ab = cBarAb ** 7;
  const scale = 1 + 0.5 * (1 - Math.sqrt(c7ab / (c7ab + POW25_7)));
  const a1p = a1 * scale;
  const a2p = a2 * scale;
  const C1 = Math.hypot(a1p, b1);
  const C2 = Math.hypot(a2p, b2);
  const h1 = hueAngle(a1p, b1);
  const h2 = hueAngle(a2p, b2);
  const lBar = 0.5 * (L1 + L2);
  const l50 = (lBar - 50) ** 2;
  const SL = 1 + (0.015 * l50) / Math.sqrt(20 + l50);
  const lTerm = (L2 - L1) / (kL * SL);
  const cBar = 0.5 * (C1 + C2);
  const SC = 1 + 0.045 * cBar;
  const cTerm = (C2 - C1) / (kC * SC);
  const hDiff = h2 - h1;
  const hSum = h1 + h2;
  const CC = C1 * C2;
  let dH = hDiff;
  if (hDiff > Math.PI) dH -= TWO_PI;
  else if (hDiff < -Math.PI) dH += TWO_PI;
  if (CC === 0) dH = 0; // a neutral colour has no hue
  const dHTerm = 2 * Math.sqrt(CC) * Math.sin(dH / 2);
  let hBar = hSum;
  if (CC !== 0 && Math.abs(hDiff) > Math.PI) hBar += hSum < TWO_PI ? TWO_PI : -TWO_PI;
  if (CC === 0) hBar *= 2;
  hBar *= 0.5;
  const T = 1 - 0.17 * Math.cos(hBar - 30 * DEG) + 0.24 * Math.cos(2 * hBar) + 0.32 * Math.cos(3 * hBar + 6 * DEG) - 0.2 * Math.cos(4 * hBar - 63 * DEG);
  const SH = 1 + 0.015 * cBar * T;
  const hTerm = dHTerm / (kH * SH);
  const c7 = cBar ** 7;
  const Rc = 2 * Math.sqrt(c7 / (c7 + POW25_7));
  const dTheta = 30 * DEG * Math.exp(-(((hBar / DEG - 275) / 25) ** 2));
  const rTerm = -Math.sin(2 * dTheta) * Rc * cTerm * hTerm;
  return Math.sqrt(Math.max(lTerm * lTerm + cTerm * cTerm + hTerm * hTerm + rTerm, 0));
}

/**
 * The per-pixel CIEDE2000 map of two interleaved RGB images of `pixels` pixels each (same size). `out`
 * may be a Float64Array (tests) or a Float32Array (display, the default).
 */
export function deltaE2000Map(a: RgbSamples, b: RgbSamples, pixels: number, maxValue = 255, out: Float32Array | Float64Array = new Float32Array(pixels)): Float32Array | Float64Array {
  if (a.length < pixels * 3 || b.length < pixels * 3) throw new RangeError(`deltaE2000Map: ${pixels} RGB pixels need ${pixels * 3} samples in each image`);
  const la = [0, 0, 0];
  const lb = [0, 0, 0];
  for (let p = 0; p < pixels; p += 1) {
    const i = p * 3;
    rgbToLab(a[i] ?? 0, a[i + 1] ?? 0, a[i + 2] ?? 0, maxValue, la);
    rgbToLab(b[i] ?? 0, b[i + 1] ?? 0, b[i + 2] ?? 0, maxValue, lb);
    out[p] = ciede2000(la[0]!, la[1]!, la[2]!, lb[0]!, lb[1]!, lb[2]!);
  }
  return out;
}

export interface DeltaESummary {
  mean: number;
  /** 95th percentile. */
  p95: number;
  max: number;
}

export function summarizeDeltaE(map: ArrayLike<number>): DeltaESummary {
  const n = map.length;
  if (!n) return { mean: 0, p95: 0, max: 0 };
  const sorted = Float64Array.from(map).sort();
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += sorted[i] ?? 0;
  return { mean: sum / n, p95: sorted[Math.min(n - 1, Math.floor(0.95 * (n - 1)))] ?? 0, max: sorted[n - 1] ?? 0 };
}

export interface ChannelHistograms {
  bins: number;
  maxValue: number;
  /** One histogram per channel (R, G, B; a grey image gives one). */
  channels: Uint32Array[];
}

/** Histograms of each channel of interleaved samples, `bins` equal bins over 0..maxValue. */
export function channelHistograms(samples: RgbSamples, channels: 1 | 3, maxValue = 255, bins = 256): ChannelHistograms {
  const out = Array.from({ length: channels }, () => new Uint32Array(bins));
  const scale = bins / (maxValue + 1);
  for (let i = 0; i + channels - 1 < samples.length; i += channels) {
    for (let c = 0; c < channels; c += 1) {
      const v = samples[i + c] ?? 0;
      const bin = Math.min(bins - 1, Math.max(0, Math.floor(v * scale)));
      out[c]![bin] = (out[c]![bin] ?? 0) + 1;
    }
  }
  return { bins, maxValue, channels: out };
}

/**
 * The colour bar of the ΔE map: 0 → black, through blue, magenta and orange, to yellow-white at `maxDeltaE`
 * and beyond (perceptually ordered, readable as "more different = brighter"). Returns [r, g, b] 0..255.
 */
export function deltaEColour(deltaE: number, maxDeltaE: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, maxDeltaE > 0 ? deltaE / maxDeltaE : 0));
  const stops: Array<[number, number, number, number]> = [
    [0, 0, 0, 0],
    [0.25, 40, 30, 160],
    [0.5, 180, 40, 150],
    [0.75, 250, 130, 40],
    [1, 255, 250, 200],
  ];
  for (let s = 1; s < stops.length; s += 1) {
    const [t1, r1, g1, b1] = stops[s]!;
    const [t0, r0, g0, b0] = stops[s - 1]!;
    if (t <= t1) {
      const u = (t - t0) / (t1 - t0);
      return [Math.round(r0 + u * (r1 - r0)), Math.round(g0 + u * (g1 - g0)), Math.round(b0 + u * (b1 - b0))];
    }
  }
  return [255, 250, 200];
}
