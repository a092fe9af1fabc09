import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchRow } from './bench-types';
import { percentile } from './bench-types';
import { defaultEvalData } from '../src-main/cli/commands/eval';
import { EvalSplit } from '../src-main/model/eval-split';
import { imageFromGray8 } from '../src-main/model/model-image';
import { loadPack } from '../src-main/model/runtime';
import { pilResizeBicubicRgb8 } from '../src-main/model/image-ops';
import { nativeHeldOutSr } from './nano-native';

/**
 * The shipped HealthGPT-nano pack on the app's runtime (CPU): wall time of one whole generation
 * (preprocess, vision, prefill, 256 image tokens, VQ decode, resample) for a held-out SR input (32x32 -> 128x128)
 * and a CT->MRI slice (128x128). Goal: < 2 s per slice on a 2-core machine.
 */
export async function runNanoBenchmarks(): Promise<BenchRow[]> {
  const pack = path.resolve('resources/packs/healthgpt-nano');
  if (!existsSync(path.join(pack, 'manifest.json'))) return [];
  const split = EvalSplit.load(defaultEvalData());
  const rt = await loadPack(pack, { provider: 'cpu' });
  const rows: BenchRow[] = [];
  try {
    for (const task of ['sr', 'ct2mri'] as const) {
      const kind = task === 'sr' ? 'lr' : 'ct';
      const times: number[] = [];
      let tokensMs = 0;
      for (const i of [0, 40, 80, 120, 139]) {
        const g = split.gray8(kind, i);
        const t = performance.now();
        const r = await rt.generate({ task, image: imageFromGray8(g.data, g.rows, g.cols) });
        times.push(performance.now() - t);
        tokensMs += r.timings.tokensMs / r.tokens.length;
      }
      rows.push({ benchmark: `nano ${task}`, metric: 'one slice p50', value: percentile(times, 50) / 1000, unit: 's', note: 'goal < 2 s (2-core CPU)' });
      rows.push({ benchmark: `nano ${task}`, metric: 'one slice max', value: Math.max(...times) / 1000, unit: 's' });
      rows.push({ benchmark: `nano ${task}`, metric: 'per image token', value: tokensMs / times.length, unit: 'ms' });
    }
    // native-resolution SR (tiled): seconds per 256² and 512² input slice (outputs 1024², 2048²); a held-out ITK
    // slice enlarged with bicubic serves as input, since the time depends only on the size
    const itk = split.slices.findIndex((s) => s.testSet === 'itk_t1');
    const src = split.gray8('mri', itk);
    for (const n of [256, 512]) {
      const img = imageFromGray8(src.data, src.rows, src.cols);
      const big = pilResizeBicubicRgb8(img.rgb, n, n);
      const t = performance.now();
      const r = await rt.generate({ task: 'sr', image: { rgb: big } });
      const s = (performance.now() - t) / 1000;
      rows.push({ benchmark: 'nano sr native resolution', metric: `${n}² slice -> ${r.rows}²`, value: s, unit: 's', note: `${r.tokens.length / 256} tiles, CPU` });
    }
    const native = await nativeHeldOutSr(rt);
    if (native) {
      for (const [method, m] of Object.entries(native.results)) {
        rows.push({ benchmark: `nano sr macaque native ${native.rows}×${native.cols} (held out, n=${native.n})`, metric: `${method} PSNR`, value: m.psnr, unit: 'dB' });
        rows.push({ benchmark: `nano sr macaque native ${native.rows}×${native.cols} (held out, n=${native.n})`, metric: `${method} SSIM`, value: m.ssim, unit: '' });
      }
    }
  } finally {
    await rt.close();
  }
  return rows;
}
