/**
 * Issue 6 benchmarks: our ONNX Runtime model runtime vs the PyTorch reference, same machine, same run, on
 * (1) the tiny random pack and (2) a random pack at Phi-3-mini width (hidden 3072, MLP 8192, 32 heads, M3
 * H-LoRA ranks 64/256) with few layers, built at bench time (never committed). Each side runs in its own
 * child process so peak RSS is its own. Decode is also given as a % of the memory-bandwidth roofline:
 * weight bytes read per token ÷ bandwidth measured by a copy benchmark in this run.
 *
 * Environment: HEALTHGPT_BENCH_LAYERS (default 2) layers of the wide pack; HEALTHGPT_BENCH_SKIP_WIDE=1 skips it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { writeFileSync, readFileSync } from 'node:fs';
import type { PackManifest } from '../src-shared/contracts/model-pack';
import type { BenchRow } from './bench-types';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const PY = '/usr/bin/python3';

interface NodeSide {
  provider: string;
  prefillMs: number;
  decodeMs: number;
  promptTokens: number;
  decodeTokens: number;
  ttftMs: number;
  switchMs: number;
  sameMs: number;
  imageMs: number;
  imageTokens: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  rss: { startRss: number; loadedRss: number; afterComRss: number; afterGenRss: number; afterSwitchesRss: number };
  peakRssMiB: number;
}

interface PySide {
  prefillMs: number;
  decodeMs: number;
  ttftMs: number;
  switchMs: number;
  imageMs: number;
  imageTokens: number;
  peakRssMiB: number;
  threads: number;
}

/** Copy bandwidth (STREAM "copy" convention: bytes read + bytes written per second), best of 5. */
export function copyBandwidthGBs(bytes = 256 * 2 ** 20): number {
  const src = new Float64Array(bytes / 8).fill(1.5);
  const dst = new Float64Array(bytes / 8);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    dst.set(src);
    const dt = performance.now() - t;
    if (i > 0) best = Math.min(best, dt);
  }
  return (2 * bytes) / (best / 1000) / 1e9;
}

/**
 * Weight bytes one decode step reads: the whole LM graph (base once + every plugin's H-LoRA, which the
 * masked design reads for each step) + the text head.
 */
export function weightBytesPerToken(dir: string, m: PackManifest): number {
  return statSync(path.join(dir, m.graphs.lm)).size + statSync(path.join(dir, m.graphs.head.text)).size;
}

function writePng(file: string, w: number, hgt: number): void {
  const png = new PNG({ width: w, height: hgt });
  for (let i = 0; i < w * hgt; i++) {
    const v = (Math.sin(i * 0.01) * 0.5 + 0.5) * 255;
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = Math.round(v);
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(file, PNG.sync.write(png, { colorType: 0 }));
}

function benchPack(label: string, preset: string, layers: number | null, promptTokens: number, decodeTokens: number, bandwidth: number, torchThreads: number): BenchRow[] {
  const tmp = mkdtempSync(path.join(tmpdir(), `hgpt-bench-${preset}-`));
  try {
    const dir = path.join(tmp, 'pack');
    const ref = path.join(tmp, 'reference.pt');
    const png = path.join(tmp, 'in.png');
    writePng(png, 96, 80);
    execFileSync(PY, ['-m', 'model.healthgpt.export', '--out', dir, '--preset', preset, '--reference', ref, ...(layers ? ['--layers', String(layers)] : [])], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    const bwBefore = copyBandwidthGBs();
    const nodeOut = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'model-bench-node.ts'), dir, png, String(promptTokens), String(decodeTokens)], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    const js = JSON.parse(nodeOut.trim().split('\n').at(-1)!) as NodeSide;
    const bwAfter = copyBandwidthGBs();
    const pyOut = execFileSync(PY, ['-m', 'model.healthgpt.reference', '--pack', dir, '--weights', ref], {
      cwd: root,
      input: JSON.stringify({ mode: 'bench', image: png, promptTokens, decodeTokens, threads: torchThreads }),
      // same footing as our runtime (whose ORT thread pools do not spin): OpenMP threads wait passively
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    const py = JSON.parse(pyOut.trim().split('\n').at(-1)!) as PySide;
    const a = manifest.architecture;
    const shape = `${label}: hidden ${a.hiddenSize}, ${a.numLayers} layers, ${a.numHeads}/${a.numKvHeads} heads, vocab ${a.vocabSize}, ranks ${a.plugins.map((p) => `${p.name} ${p.rank}`).join('/')}`;
    const b = `model ${label}`;
    const rows: BenchRow[] = [];
    const pair = (metric: string, ours: number, theirs: number, unit: string, higherIsBetter: boolean, note?: string): void => {
      rows.push({ benchmark: b, metric: `${metric} (ours)`, value: ours, unit, note: note ?? shape });
      rows.push({ benchmark: b, metric: `${metric} (PyTorch ref)`, value: theirs, unit, note: `torch ${py.threads} threads, fp32` });
      rows.push({ benchmark: b, metric: `${metric} ratio ours/ref`, value: higherIsBetter ? ours / theirs : theirs / ours, unit: 'x', note: 'higher is better' });
    };
    pair('prefill', (promptTokens / js.prefillMs) * 1000, (promptTokens / py.prefillMs) * 1000, 'tok/s', true, `${promptTokens}-token text prompt; ${shape}`);
    pair('decode', (decodeTokens / js.decodeMs) * 1000, (decodeTokens / py.decodeMs) * 1000, 'tok/s', true, `${decodeTokens} tokens after the prompt`);
    pair('time to first token', js.ttftMs, py.ttftMs, 'ms', false, `image (${a.vision.numPatches} patches) + prompt`);
    pair('one image', js.imageMs, py.imageMs, 'ms', false, `${js.imageTokens} image tokens + VQ decode (+ resample, ours)`);
    pair('plugin switch (first gen pass)', js.switchMs, py.switchMs, 'ms', false, `one-token pass on the other plugin; ours same-plugin: ${js.sameMs.toFixed(1)} ms`);
    pair('peak RSS', js.peakRssMiB, py.peakRssMiB, 'MiB', false, 'whole process');
    rows.push({
      benchmark: b,
      metric: 'RSS growth over com↔gen switches',
      value: js.rss.afterSwitchesRss - js.rss.afterComRss,
      unit: 'MiB',
      note: `LM graph ${(statSync(path.join(dir, manifest.graphs.lm)).size / 2 ** 20).toFixed(0)} MiB; loaded ${js.rss.loadedRss.toFixed(0)} MiB, after com ${js.rss.afterComRss.toFixed(0)}, after gen ${js.rss.afterGenRss.toFixed(0)}, after more switches ${js.rss.afterSwitchesRss.toFixed(0)}`,
    });
    const bytes = weightBytesPerToken(dir, manifest);
    // roofline from the copy bandwidth measured right before and after our runtime's run (the machine may be
    // shared): the highest of those and the run-level figure, i.e. the strictest roofline
    const bw = Math.max(bwBefore, bwAfter, bandwidth);
    const rooflineTokS = (bw * 1e9) / bytes;
    const decodeTokS = (decodeTokens / js.decodeMs) * 1000;
    rows.push({ benchmark: b, metric: 'weights per decode token', value: bytes / 2 ** 20, unit: 'MiB', note: 'LM graph (base + all plugins) + head, fp32' });
    rows.push({ benchmark: b, metric: 'decode % of bandwidth roofline', value: (decodeTokS / rooflineTokS) * 100, unit: '%', note: `roofline ${rooflineTokS.toFixed(1)} tok/s at ${bw.toFixed(1)} GB/s copy (copy measured ${bandwidth.toFixed(1)} at start, ${bwBefore.toFixed(1)} / ${bwAfter.toFixed(1)} around our run)` });
    rows.push({ benchmark: b, metric: 'event-loop delay p99 during generate', value: js.eventLoopP99Ms, unit: 'ms', note: `max ${js.eventLoopMaxMs.toFixed(1)} ms; provider ${js.provider}` });
    return rows;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function runModelBenchmarks(): Promise<BenchRow[]> {
  const bandwidth = copyBandwidthGBs();
  const rows: BenchRow[] = [{ benchmark: 'model memory', metric: 'copy bandwidth', value: bandwidth, unit: 'GB/s', note: '256 MiB Float64Array copy, (read+write)/time, best of 5' }];
  // torch is fastest single-threaded on the tiny (overhead-bound) pack and multi-threaded on the wide one
  rows.push(...benchPack('tiny', 'tiny', null, 64, 32, bandwidth, 1));
  if (process.env.HEALTHGPT_BENCH_SKIP_WIDE !== '1') {
    const layers = Number(process.env.HEALTHGPT_BENCH_LAYERS ?? 2);
    rows.push(...benchPack(`phi3-width-${layers}L`, 'phi3-width', layers, 64, 16, bandwidth, cpus().length));
  }
  return rows;
}
