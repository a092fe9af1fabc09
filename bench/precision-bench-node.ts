/**
 * Child process of bench/precision.bench.ts: one pack precision of our runtime, in isolation (its own peak RSS).
 * Usage: tsx bench/precision-bench-node.ts <pack> <promptTokens> <decodeTokens> <threads> <hashCacheFile>
 * Measures: pack open (verify) first and second time with the hash cache, load, then prefill + greedy decode of
 * text tokens (benchText, the generation plugin's pass timed too). Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { verifyPack } from '../src-main/model/pack-verify';
import { loadPack } from '../src-main/model/runtime';

const [dir, nArg, mArg, tArg, cacheArg] = process.argv.slice(2);
if (!dir || !cacheArg) throw new Error('usage: precision-bench-node <pack> <promptTokens> <decodeTokens> <threads> <hashCacheFile>');
const n = Number(nArg);
const m = Number(mArg);
const threads = Number(tArg);

function vmHwmMiB(): number {
  const hit = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hit ? Number(hit[1]) / 1024 : Number.NaN;
}

let t = performance.now();
const first = await verifyPack(dir, { hashCachePath: cacheArg });
const firstOpenMs = performance.now() - t;
if (!first.ok) throw new Error(first.message);
t = performance.now();
const second = await verifyPack(dir, { hashCachePath: cacheArg });
const secondOpenMs = performance.now() - t;
if (!second.ok) throw new Error(second.message);
t = performance.now();
const rt = await loadPack(dir, { provider: 'cpu', threads, hashCachePath: cacheArg });
const loadMs = performance.now() - t;
await rt.benchText(4, 2, 'com'); // warm-up
const com = await rt.benchText(n, m, 'com');
const gen = await rt.benchText(n, m, 'gen');
process.stdout.write(
  `${JSON.stringify({ firstOpenMs, secondOpenMs, hashedSecond: second.hashed.length, loadMs, com, gen, promptTokens: n, decodeTokens: m, peakRssMiB: vmHwmMiB() })}\n`,
);
await rt.close();
