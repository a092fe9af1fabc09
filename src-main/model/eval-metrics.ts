/**
 * Image metrics and baselines of `healthgpt eval`, on grey images with values in [0, 1].
 *
 * SSIM is the standard Gaussian-window definition (Wang et al. 2004) with the conventions of
 * skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=True,
 * data_range=1): an 11-tap Gaussian (sigma 1.5, truncated at 3.5 sigma), K1 = 0.01, K2 = 0.03, sample
 * covariance (N / (N - 1), N = 121), and the mean over the positions where the window lies inside the image.
 * model/eval/metrics.py is the Python twin; test/main/model/eval-metrics.test.ts checks both against skimage.
 */

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

export interface GrayImage {
  rows: number;
  cols: number;
  /** Row-major values in [0, 1]. */
  data: Float32Array | Float64Array;
}

function checkSame(a: GrayImage, b: GrayImage): void {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error(`image sizes differ: ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  if (a.data.length !== a.rows * a.cols || b.data.length !== b.rows * b.cols) throw new Error('pixel count does not match rows x cols');
}

/** Peak signal-to-noise ratio in dB for data range 1 (Infinity for identical images). */
export function psnr(a: GrayImage, b: GrayImage): number {
  checkSame(a, b);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

function gaussianTaps(): Float64Array {
  const r = (SSIM_WINDOW - 1) / 2;
  const g = new Float64Array(SSIM_WINDOW);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * SSIM_SIGMA * SSIM_SIGMA));
    g[i + r] = v;
    s += v;
  }
  for (let i = 0; i < SSIM_WINDOW; i++) g[i] = g[i]! / s;
  return g;
}

/** Separable 'valid' filtering: output (rows - 10) x (cols - 10). */
function filterValid(x: Float64Array, rows: number, cols: number, g: Float64Array): Float64Array {
  const w = SSIM_WINDOW;
  const oc = cols - w + 1;
  const or = rows - w + 1;
  const tmp = new Float64Array(rows * oc);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < oc; c++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += g[k]! * x[r * cols + c + k]!;
      tmp[r * oc + c] = s;
    }
  }
  const out = new Float64Array(or * oc);
  for (let r = 0; r < or; r++) {
    for (let c = 0; c < oc; c++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += g[k]! * tmp[(r + k) * oc + c]!;
      out[r * oc + c] = s;
    }
  }
  return out;
}

/** Mean structural similarity (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, data range 1). */
export function ssim(a: GrayImage, b: GrayImage): number {
  checkSame(a, b);
  const { rows, cols } = a;
  if (rows < SSIM_WINDOW || cols < SSIM_WINDOW) throw new Error(`SSIM needs images of at least ${SSIM_WINDOW}x${SSIM_WINDOW}`);
  const n = rows * cols;
  const x = Float64Array.from(a.data);
  const y = Float64Array.from(b.data);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const g = gaussianTaps();
  const ux = filterValid(x, rows, cols, g);
  const uy = filterValid(y, rows, cols, g);
  const uxx = filterValid(xx, rows, cols, g);
  const uyy = filterValid(yy, rows, cols, g);
  const uxy = filterValid(xy, rows, cols, g);
  const np = SSIM_WINDOW * SSIM_WINDOW;
  const covNorm = np / (np - 1);
  const c1 = SSIM_K1 * SSIM_K1;
  const c2 = SSIM_K2 * SSIM_K2;
  let sum = 0;
  for (let i = 0; i < ux.length; i++) {
    const mx = ux[i]!;
    const my = uy[i]!;
    const vx = covNorm * (uxx[i]! - mx * mx);
    const vy = covNorm * (uyy[i]! - my * my);
    const vxy = covNorm * (uxy[i]! - mx * my);
    sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return sum / ux.length;
}

/**
 * Histogram matching to a reference given as equally spaced quantiles (q[0] = min ... q[last] = max):
 * the pixel of rank k among n (ties in pixel order) gets the reference value at k / (n - 1), linear between
 * quantiles. Same as hist_match_to in model/eval/metrics.py.
 */
export function histogramMatch(src: GrayImage, refQuantiles: readonly number[]): GrayImage {
  const n = src.data.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => src.data[i]! - src.data[j]! || i - j);
  const m = refQuantiles.length - 1;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const q = (n > 1 ? k / (n - 1) : 0) * m;
    const lo = Math.min(Math.floor(q), m);
    const hi = Math.min(lo + 1, m);
    const f = q - lo;
    out[order[k]!] = refQuantiles[lo]! * (1 - f) + refQuantiles[hi]! * f;
  }
  return { rows: src.rows, cols: src.cols, data: out };
}

/** Lower-case, punctuation dropped, spaces collapsed: how VQA answers are compared. */
export function normaliseAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, '')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

export interface MeanMetrics {
  n: number;
  psnr: number;
  ssim: number;
}

/** Mean PSNR and SSIM of predictions against targets (same order). */
export function meanMetrics(preds: GrayImage[], targets: GrayImage[]): MeanMetrics {
  if (preds.length !== targets.length) throw new Error('predictions and targets differ in number');
  let p = 0;
  let s = 0;
  for (let i = 0; i < preds.length; i++) {
    p += psnr(preds[i]!, targets[i]!);
    s += ssim(preds[i]!, targets[i]!);
  }
  const n = preds.length;
  return { n, psnr: n ? p / n : NaN, ssim: n ? s / n : NaN };
}
