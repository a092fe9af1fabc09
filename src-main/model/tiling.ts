import type { Rgb8 } from './image-ops';

/**
 * Native-resolution generation by tiles. The model sees a fixed square (its vision size); an input larger
 * than one tile is cut into overlapping tiles of that size (in input pixels), each tile is generated at the
 * task's output scale, and the outputs are blended with weights that ramp linearly across every overlap, so
 * neighbouring tiles hand over without a step. Borders of the image keep full weight (nothing to blend with).
 */

/** Start positions of tiles of `tile` pixels over `length` pixels, overlapping by at least `overlap`. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (!(tile > 0) || overlap < 0 || overlap >= tile) throw new RangeError(`bad tiling: tile ${tile}, overlap ${overlap}`);
  if (length <= tile) return [0];
  const n = Math.ceil((length - overlap) / (tile - overlap));
  // evenly spread from 0 to length - tile: the last tile ends at the image edge
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - tile)) / (n - 1)));
}

/**
 * Blend weights along one axis of a tile's output (`size` output pixels): a linear ramp over the overlap with
 * the previous tile (`before` output pixels) and the next one (`after`), 1 elsewhere; never 0, so the
 * normalised sum is defined everywhere.
 */
export function rampWeights(size: number, before: number, after: number): Float32Array {
  const w = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    let v = 1;
    if (before > 0 && x < before) v = Math.min(v, (x + 0.5) / before);
    if (after > 0 && x >= size - after) v = Math.min(v, (size - x - 0.5) / after);
    w[x] = v;
  }
  return w;
}

/** The rows × cols RGB crop of `img` at (top, left). */
export function cropRgb(img: Rgb8, top: number, left: number, rows: number, cols: number): Rgb8 {
  const data = new Uint8Array(rows * cols * 3);
  for (let r = 0; r < rows; r++) data.set(img.data.subarray(((top + r) * img.width + left) * 3, ((top + r) * img.width + left + cols) * 3), r * cols * 3);
  return { width: cols, height: rows, data };
}

export interface TileInfo {
  top: number;
  left: number;
  rows: number;
  cols: number;
  index: number;
  count: number;
}

/**
 * Accumulates tile outputs ((tile rows·scale) × (tile cols·scale) each) into one (rows·scale) × (cols·scale)
 * image with the linear overlap ramps: the one blending rule for generated pixels and anything mapped onto
 * them (the confidence maps), so both line up.
 */
export class TileBlender {
  readonly ys: number[];
  readonly xs: number[];
  private readonly th: number;
  private readonly tw: number;
  private readonly outCols: number;
  private readonly acc: Float64Array;
  private readonly wsum: Float64Array;

  constructor(
    rows: number,
    cols: number,
    tile: number,
    overlap: number,
    private readonly scale: number,
  ) {
    this.ys = tileStarts(rows, tile, overlap);
    this.xs = tileStarts(cols, tile, overlap);
    this.th = Math.min(tile, rows);
    this.tw = Math.min(tile, cols);
    this.outCols = cols * scale;
    this.acc = new Float64Array(rows * scale * this.outCols);
    this.wsum = new Float64Array(this.acc.length);
  }

  get count(): number {
    return this.ys.length * this.xs.length;
  }

  /** Tile (iy, ix) of the grid of starts, in the order generateTiled visits them (row by row). */
  tileInfo(iy: number, ix: number): TileInfo {
    return { top: this.ys[iy]!, left: this.xs[ix]!, rows: this.th, cols: this.tw, index: iy * this.xs.length + ix, count: this.count };
  }

  add(iy: number, ix: number, out: Float32Array): void {
    const { ys, xs, th, tw, scale } = this;
    const top = ys[iy]!;
    const left = xs[ix]!;
    const wy = rampWeights(th * scale, iy > 0 ? (ys[iy - 1]! + th - top) * scale : 0, iy + 1 < ys.length ? (top + th - ys[iy + 1]!) * scale : 0);
    const wx = rampWeights(tw * scale, ix > 0 ? (xs[ix - 1]! + tw - left) * scale : 0, ix + 1 < xs.length ? (left + tw - xs[ix + 1]!) * scale : 0);
    const oc = tw * scale;
    if (out.length !== th * scale * oc) throw new Error(`tile output has ${out.length} pixels, expected ${th * scale * oc}`);
    for (let r = 0; r < th * scale; r++) {
      const base = (top * scale + r) * this.outCols + left * scale;
      for (let c = 0; c < oc; c++) {
        const w = wy[r]! * wx[c]!;
        this.acc[base + c] = this.acc[base + c]! + w * out[r * oc + c]!;
        this.wsum[base + c] = this.wsum[base + c]! + w;
      }
    }
  }

  result(): Float32Array {
    const res = new Float32Array(this.acc.length);
    for (let i = 0; i < res.length; i++) res[i] = this.acc[i]! / this.wsum[i]!;
    return res;
  }
}

/**
 * Generates `input` tile by tile and blends: `generateTile` gets each crop (at most tile × tile input pixels)
 * and returns grey pixels at the crop's geometry × scale. Output: (rows·scale) × (cols·scale), row-major.
 * An input no larger than one tile is a single call, so small inputs go exactly the path they went before.
 */
export async function generateTiled(
  input: Rgb8,
  tile: number,
  overlap: number,
  scale: number,
  generateTile: (crop: Rgb8, info: TileInfo) => Promise<Float32Array>,
): Promise<Float32Array> {
  const blender = new TileBlender(input.height, input.width, tile, overlap, scale);
  if (blender.count === 1) return generateTile(input, { top: 0, left: 0, rows: input.height, cols: input.width, index: 0, count: 1 });
  for (let iy = 0; iy < blender.ys.length; iy++) {
    for (let ix = 0; ix < blender.xs.length; ix++) {
      const info = blender.tileInfo(iy, ix);
      blender.add(iy, ix, await generateTile(cropRgb(input, info.top, info.left, info.rows, info.cols), info));
    }
  }
  return blender.result();
}
