/**
 * Child process of bench/model.bench.ts: times our ONNX Runtime model runtime on one pack, in isolation
 * (so peak RSS is this runtime's alone). Usage: tsx bench/model-bench-node.ts <pack> <png> <promptTokens> <decodeTokens>
 * Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readPngImage } from '../src-main/model/model-image';
import { loadPack } from '../src-main/model/runtime';

const [dir, png, nArg, mArg] = process.argv.slice(2);
if (!dir || !png) throw new Error('usage: model-bench-node <pack> <png> <promptTokens> <decodeTokens>');
const n = Number(nArg ?? 64);
const m = Number(mArg ?? 16);
/** Peak RSS (VmHWM): unlike maxRSS it is not inherited from the parent across exec. */
function vmHwmMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
const rss = (): number => process.memoryUsage.rss() / 2 ** 20;
const startRss = rss();
let t = performance.now();
const rt = await loadPack(dir, { provider: 'cpu', skipHashes: false });
const loadMs = performance.now() - t;
const loadedRss = rss();
const image = readPngImage(png);
await rt.benchText(4, 1, 'com'); // warm-up (arena growth, kernel selection)
const text = await rt.benchText(n, m, 'com');
const ask = await rt.ask({ image, question: 'What is shown in this image?', maxTokens: 1 });
const afterComRss = rss();
// plugin switch: the first generation-plugin pass after comprehension (one token, no cache) vs a com pass
t = performance.now();
await rt.benchText(1, 0, 'gen');
const switchMs = performance.now() - t;
t = performance.now();
await rt.benchText(1, 0, 'com');
const sameMs = performance.now() - t;
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const gen = await rt.generate({ task: 'recon', image });
h.disable();
const afterGenRss = rss();
await rt.ask({ image, question: 'And now?', maxTokens: 2 });
await rt.generate({ task: 'sr', image });
const afterSwitchesRss = rss();
const out = {
  provider: rt.provider,
  loadMs,
  prefillMs: text.prefillMs,
  decodeMs: text.decodeMs,
  promptTokens: n,
  decodeTokens: m,
  ttftMs: ask.timings.ttftMs,
  switchMs,
  sameMs,
  imageMs: gen.timings.totalMs,
  imageTokensMs: gen.timings.tokensMs,
  imageTokens: gen.tokens.length,
  eventLoopP99Ms: h.percentile(99) / 1e6,
  eventLoopMaxMs: h.max / 1e6,
  rss: { startRss, loadedRss, afterComRss, afterGenRss, afterSwitchesRss },
  peakRssMiB: vmHwmMiB(),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
await rt.close();
