import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { bicubicUpsample } from '../src-main/cli/commands/eval';
import { meanMetrics, type GrayImage } from '../src-main/model/eval-metrics';
import { imageFromGray8 } from '../src-main/model/model-image';
import type { ModelRuntime } from '../src-main/model/runtime';

/**
 * SR at a held-out subject's native matrix (issue #18): INIA19 macaque axial slices at 168×204 (cropped to a
 * multiple of 4), each 4×4 box-averaged to 42×51, then the model (tiled, projected) against bicubic and bicubic
 * with the same post-processing. Empty when the volume is not installed (mricron-data).
 */
export async function nativeHeldOutSr(rt: ModelRuntime): Promise<{ n: number; rows: number; cols: number; results: Record<string, { psnr: number; ssim: number }> } | null> {
  const raw = JSON.parse(execFileSync('/usr/bin/python3', [path.resolve('bench/native-slices.py')], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { rows?: number; cols?: number; slices?: string[] };
  if (!raw.rows || !raw.cols || !raw.slices) return null;
  const rows = raw.rows - (raw.rows % 4);
  const cols = raw.cols - (raw.cols % 4);
  const preds: Record<string, GrayImage[]> = { model: [], bicubic: [], 'bicubic+block-mean projection': [] };
  const targets: GrayImage[] = [];
  const post = rt.outputPostprocess('sr');
  for (const b64 of raw.slices) {
    const full = Buffer.from(b64, 'base64');
    const hr = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) hr[r * cols + c] = full[r * raw.cols + c]! / 255;
    const lr = { rows: rows / 4, cols: cols / 4, data: new Uint8Array((rows / 4) * (cols / 4)) };
    for (let r = 0; r < lr.rows; r++)
      for (let c = 0; c < lr.cols; c++) {
        let s = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += hr[(r * 4 + dy) * cols + c * 4 + dx]!;
        lr.data[r * lr.cols + c] = Math.round((s / 16) * 255);
      }
    const img = imageFromGray8(lr.data, lr.rows, lr.cols);
    const out = await rt.generate({ task: 'sr', image: img });
    const bic = bicubicUpsample(lr, rows, cols);
    targets.push({ rows, cols, data: hr });
    preds.model!.push({ rows, cols, data: out.pixels });
    preds.bicubic!.push(bic);
    preds['bicubic+block-mean projection']!.push({ rows, cols, data: post.apply(Float32Array.from(bic.data), img.rgb) });
  }
  const results = Object.fromEntries(Object.entries(preds).map(([k, v]) => [k, meanMetrics(v, targets)]));
  return { n: targets.length, rows, cols, results };
}
