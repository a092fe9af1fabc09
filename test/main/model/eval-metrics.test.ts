import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { histogramMatch, normaliseAnswer, psnr, ssim, type GrayImage } from '../../../src-main/model/eval-metrics';
import { EvalSplit } from '../../../src-main/model/eval-split';
import { defaultEvalData } from '../../../src-main/cli/commands/eval';

const PY = '/usr/bin/python3';
const tmp = mkdtempSync(path.join(tmpdir(), 'hgpt-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** skimage / numpy reference on the same float64 images (raw little-endian files). */
function reference(pairs: [GrayImage, GrayImage][]): { ssim: number; psnr: number }[] {
  const files = pairs.map(([a, b], i) => {
    const fa = path.join(tmp, `a${i}.f64`);
    const fb = path.join(tmp, `b${i}.f64`);
    writeFileSync(fa, Buffer.from(Float64Array.from(a.data).buffer));
    writeFileSync(fb, Buffer.from(Float64Array.from(b.data).buffer));
    return { fa, fb, rows: a.rows, cols: a.cols };
  });
  const script = [
    'import json, sys, numpy as np',
    'from skimage.metrics import structural_similarity, peak_signal_noise_ratio',
    'out = []',
    'for f in json.loads(sys.argv[1]):',
    "    a = np.fromfile(f['fa'], '<f8').reshape(f['rows'], f['cols'])",
    "    b = np.fromfile(f['fb'], '<f8').reshape(f['rows'], f['cols'])",
    '    s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=True, data_range=1.0)',
    "    out.append({'ssim': float(s), 'psnr': float(peak_signal_noise_ratio(b, a, data_range=1.0))})",
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(PY, ['-c', script, JSON.stringify(files)], { encoding: 'utf8' })) as { ssim: number; psnr: number }[];
}

function noisy(img: GrayImage, sigma: number, seed: number): GrayImage {
  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const data = new Float64Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const g = Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    data[i] = Math.min(1, Math.max(0, img.data[i]! + sigma * g));
  }
  return { rows: img.rows, cols: img.cols, data };
}

describe('eval metrics (PSNR, Gaussian SSIM) against skimage on real test-split images', () => {
  const split = EvalSplit.load(defaultEvalData());

  it('SSIM and PSNR match skimage.metrics to 1e-9 on MRI, CT and degraded versions', () => {
    const pairs: [GrayImage, GrayImage][] = [];
    for (const i of [0, 20, 90, 139]) {
      const mri = split.image('mri', i);
      pairs.push([mri, noisy(mri, 0.05, i + 1)]);
      pairs.push([mri, split.image('ct', i)]);
    }
    // a non-square crop, so rows and columns cannot be swapped unnoticed
    const m = split.image('mri', 60);
    const crop = (img: GrayImage): GrayImage => {
      const rows = 40;
      const cols = 97;
      const data = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = img.data[(r + 30) * img.cols + c + 5]!;
      return { rows, cols, data };
    };
    pairs.push([crop(m), crop(noisy(m, 0.1, 9))]);
    const ref = reference(pairs);
    pairs.forEach(([a, b], k) => {
      expect(Math.abs(ssim(a, b) - ref[k]!.ssim)).toBeLessThan(1e-9);
      expect(Math.abs(psnr(a, b) - ref[k]!.psnr)).toBeLessThan(1e-9);
    });
    // and the metric is not trivially constant: noise lowers SSIM, identity is 1
    expect(ssim(m, m)).toBeCloseTo(1, 12);
    expect(ref[0]!.ssim).toBeLessThan(0.95);
  });

  it('histogram matching maps an image onto the reference distribution (monotone, same quantiles)', () => {
    const ct = split.image('ct', 10);
    const ref = split.index.histReference.mri;
    const out = histogramMatch(ct, ref);
    const order = Array.from(ct.data.keys()).sort((i, j) => ct.data[i]! - ct.data[j]! || i - j);
    for (let k = 1; k < order.length; k++) expect(out.data[order[k]!]!).toBeGreaterThanOrEqual(out.data[order[k - 1]!]! - 1e-12);
    const sorted = Float64Array.from(out.data).sort();
    expect(sorted[0]).toBeCloseTo(ref[0]!, 12);
    expect(sorted[sorted.length - 1]).toBeCloseTo(ref[ref.length - 1]!, 12);
    expect(sorted[Math.round((sorted.length - 1) / 2)]).toBeCloseTo(ref[(ref.length - 1) / 2]!, 3);
  });

  it('answers are compared case- and punctuation-insensitively', () => {
    expect(normaliseAnswer(' Hyperintense. ')).toBe('hyperintense');
    expect(normaliseAnswer('MRI')).toBe(normaliseAnswer('mri'));
    expect(normaliseAnswer('left')).not.toBe(normaliseAnswer('right'));
  });
});
