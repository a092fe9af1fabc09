import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { GrayImage } from './eval-metrics';

/**
 * The held-out test split of VL-Health-mini as written by model/eval/export_test_split.py
 * (test/fixtures/vl-health-mini/: index.json + images.u8.gz).
 */
export interface EvalSliceInfo {
  testSet: string;
  source: string;
  plane: string;
  index: number;
  pixelMm: number;
}

export interface EvalQuestion {
  image: number;
  question: string;
  answer: string;
  type: string;
  testSet: string;
}

interface ArrayInfo {
  offset: number;
  shape: number[];
}

interface SplitIndex {
  name: string;
  imageSize: number;
  lrSize: number;
  ctWindow: { center: number; width: number };
  arrays: Record<'mri' | 'ct' | 'lr' | 'vqa', ArrayInfo>;
  rawSha256: string;
  slices: EvalSliceInfo[];
  questions: EvalQuestion[];
  majority: Record<string, string>;
  histReference: { mri: number[]; ct: number[] };
}

export class EvalSplit {
  private constructor(
    readonly dir: string,
    readonly index: SplitIndex,
    private readonly raw: Uint8Array,
  ) {}

  static load(dir: string): EvalSplit {
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as SplitIndex;
    const raw = new Uint8Array(gunzipSync(readFileSync(path.join(dir, 'images.u8.gz'))));
    const sha = createHash('sha256').update(raw).digest('hex');
    if (sha !== index.rawSha256) throw new Error(`${dir}: images.u8.gz does not match index.json (sha256 ${sha})`);
    return new EvalSplit(dir, index, raw);
  }

  get slices(): EvalSliceInfo[] {
    return this.index.slices;
  }

  get questions(): EvalQuestion[] {
    return this.index.questions;
  }

  /** One 8-bit image of an array (mri, ct, lr, vqa). */
  gray8(kind: keyof SplitIndex['arrays'], i: number): { rows: number; cols: number; data: Uint8Array } {
    const a = this.index.arrays[kind];
    const [n, rows, cols] = a.shape as [number, number, number];
    if (i < 0 || i >= n) throw new RangeError(`${kind}[${i}] out of range (${n})`);
    const size = rows * cols;
    return { rows, cols, data: this.raw.subarray(a.offset + i * size, a.offset + (i + 1) * size) };
  }

  /** The same image as values in [0, 1]. */
  image(kind: keyof SplitIndex['arrays'], i: number): GrayImage {
    const g = this.gray8(kind, i);
    const data = new Float64Array(g.data.length);
    for (let k = 0; k < data.length; k++) data[k] = g.data[k]! / 255;
    return { rows: g.rows, cols: g.cols, data };
  }
}
