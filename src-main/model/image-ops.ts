/**
 * Pixel operations of the model runtime: CLIP preprocessing exactly as the reference (PIL) does it, and the
 * post-processing of generated images. Every function here is self-contained (no imports, no closures over
 * module state) so the worker can run them from their source text; see image-worker.ts.
 */

/** An 8-bit RGB image, interleaved. */
export interface Rgb8 {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Pad to a square with `pad` colour, the image centred as PIL's expand2square pastes it. */
export function expandToSquare(img: Rgb8, pad: readonly [number, number, number]): Rgb8 {
  const { width: w, height: h } = img;
  if (w === h) return img;
  const s = Math.max(w, h);
  const out = new Uint8Array(s * s * 3);
  for (let i = 0; i < s * s; i++) {
    out[i * 3] = pad[0];
    out[i * 3 + 1] = pad[1];
    out[i * 3 + 2] = pad[2];
  }
  const ox = w > h ? 0 : Math.floor((h - w) / 2);
  const oy = w > h ? Math.floor((w - h) / 2) : 0;
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + oy) * s + ox) * 3);
  return { width: s, height: s, data: out };
}

/**
 * Pillow's bicubic resample of 8-bit images (ImagingResample, 8bpc path): separable, horizontal pass
 * first, support scaled when downsampling (antialias), fixed-point coefficients with 22 fraction bits,
 * rounding and clipping to 8 bits after each pass. Bit-exact with PIL's Image.resize(..., BICUBIC).
 */
export function pilResizeBicubicRgb8(img: Rgb8, outW: number, outH: number): Rgb8 {
  const PRECISION_BITS = 22;
  const ONE = 2 ** PRECISION_BITS;
  const HALF = 2 ** (PRECISION_BITS - 1);
  const bicubic = (xIn: number): number => {
    const a = -0.5;
    const x = xIn < 0 ? -xIn : xIn;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  };
  const coeffs = (inSize: number, outSize: number): { ksize: number; bounds: Int32Array; kk: Float64Array } => {
    const scale = inSize / outSize;
    const filterscale = scale < 1.0 ? 1.0 : scale;
    const support = 2.0 * filterscale;
    const ksize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2);
    const kk = new Float64Array(outSize * ksize);
    const pre = new Float64Array(ksize);
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      let ww = 0.0;
      const ss = 1.0 / filterscale;
      let xmin = Math.trunc(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      let xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      for (let x = 0; x < xmax; x++) {
        const w = bicubic((x + xmin - center + 0.5) * ss);
        pre[x] = w;
        ww += w;
      }
      for (let x = 0; x < ksize; x++) {
        let k = x < xmax ? pre[x]! : 0;
        if (x < xmax && ww !== 0.0) k /= ww;
        kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    return { ksize, bounds, kk };
  };
  const clip8 = (v: number): number => {
    if (v >= ONE * 256) return 255;
    if (v <= 0) return 0;
    return Math.floor(v / ONE);
  };
  let cur = img;
  if (outW !== cur.width) {
    const { ksize, bounds, kk } = coeffs(cur.width, outW);
    const h = cur.height;
    const out = new Uint8Array(outW * h * 3);
    const src = cur.data;
    const inW = cur.width;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2]!;
        const xmax = bounds[xx * 2 + 1]!;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < xmax; x++) {
          const k = kk[xx * ksize + x]!;
          const p = (y * inW + x + xmin) * 3;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        const o = (y * outW + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    cur = { width: outW, height: h, data: out };
  }
  if (outH !== cur.height) {
    const { ksize, bounds, kk } = coeffs(cur.height, outH);
    const w = cur.width;
    const out = new Uint8Array(w * outH * 3);
    const src = cur.data;
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[yy * 2]!;
      const ymax = bounds[yy * 2 + 1]!;
      for (let xx = 0; xx < w; xx++) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let y = 0; y < ymax; y++) {
          const k = kk[yy * ksize + y]!;
          const p = ((y + ymin) * w + xx) * 3;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        const o = (yy * w + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    cur = { width: w, height: outH, data: out };
  }
  return cur;
}

/** HWC 8-bit RGB -> CHW float32, rescaled by 1/255 and normalised with mean/std (float32 arithmetic). */
export function clipNormalize(img: Rgb8, mean: readonly number[], std: readonly number[]): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]!);
    const s = f(std[c]!);
    for (let i = 0; i < n; i++) out[c * n + i] = f(f(f(img.data[i * 3 + c]! / 255) - m) / s);
  }
  return out;
}

/** The whole CLIP preprocessing of the reference: pad to square (mean colour), bicubic resize, normalise. */
export function clipPreprocess(
  img: Rgb8,
  size: number,
  pad: readonly [number, number, number],
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const sq = expandToSquare(img, pad);
  const rs = sq.width === size && sq.height === size ? sq : pilResizeBicubicRgb8(sq, size, size);
  return clipNormalize(rs, mean, std);
}

/** Planar RGB in [0,1] ([3,S,S]) -> grey in [0,1] ([S,S]) as the mean of the channels. */
export function planarToGray(pixels: Float32Array, size: number): Float32Array {
  const n = size * size;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (pixels[i]! + pixels[n + i]! + pixels[2 * n + i]!) / 3;
  return out;
}

/**
 * Super-resolution data consistency: adds to each scale×scale block of `out` the difference between the
 * input pixel (grey = mean of R, G, B, /255) and the block's mean (the least-squares image with those block
 * means), then clips to [0, 1]. In place; returns `out`. Mirrors consistent_with_input in model/eval/evaluate.py.
 */
export function blockMeanConsistent(out: Float32Array, input: { width: number; height: number; data: Uint8Array }, scale: number): Float32Array {
  const cols = input.width * scale;
  const n = scale * scale;
  for (let r = 0; r < input.height; r++) {
    for (let c = 0; c < input.width; c++) {
      let sum = 0;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) sum += out[(r * scale + dy) * cols + c * scale + dx]!;
      const i = (r * input.width + c) * 3;
      const want = (input.data[i]! + input.data[i + 1]! + input.data[i + 2]!) / 3 / 255;
      const delta = want - sum / n;
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const k = (r * scale + dy) * cols + c * scale + dx;
          out[k] = Math.min(1, Math.max(0, out[k]! + delta));
        }
    }
  }
  return out;
}

/**
 * Maps a generated square image back to the input's geometry. The input (rows × cols) was padded to a
 * centred square of side max(rows, cols) before the model saw it; the generated S×S image covers that
 * square. Output: (rows·scale) × (cols·scale), bilinear (pixel-centre aligned), padding cropped away.
 */
export function squareToGeometry(gray: Float32Array, size: number, rows: number, cols: number, scale: number): Float32Array {
  const side = Math.max(rows, cols);
  const outRows = rows * scale;
  const outCols = cols * scale;
  const offY = rows < cols ? Math.floor((cols - rows) / 2) : 0;
  const offX = cols < rows ? Math.floor((rows - cols) / 2) : 0;
  const out = new Float32Array(outRows * outCols);
  const k = size / side; // generated pixels per input pixel
  for (let r = 0; r < outRows; r++) {
    // centre of output pixel in input-pixel units of the padded square, then in generated pixels
    const sy = Math.min(Math.max(((r + 0.5) / scale + offY) * k - 0.5, 0), size - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, size - 1);
    const fy = sy - y0;
    for (let c = 0; c < outCols; c++) {
      const sx = Math.min(Math.max(((c + 0.5) / scale + offX) * k - 0.5, 0), size - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, size - 1);
      const fx = sx - x0;
      const a = gray[y0 * size + x0]! * (1 - fx) + gray[y0 * size + x1]! * fx;
      const b = gray[y1 * size + x0]! * (1 - fx) + gray[y1 * size + x1]! * fx;
      out[r * outCols + c] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}
