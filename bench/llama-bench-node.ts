/**
 * Child process of bench/precision.bench.ts: times llama.cpp (node-llama-cpp, CPU build, prebuilt binaries) on a
 * GGUF file of the base decoder. Usage: tsx bench/llama-bench-node.ts <gguf> <promptTokens> <decodeTokens> <threads> <vocabEnd>
 * Feeds token ids (no text): the same prompt length and greedy decode length as our side. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const [file, nArg, mArg, tArg, vArg] = process.argv.slice(2);
if (!file || !vArg) throw new Error('usage: llama-bench-node <gguf> <promptTokens> <decodeTokens> <threads> <vocabEnd>');
const n = Number(nArg ?? 64);
const m = Number(mArg ?? 16);
const threads = Number(tArg ?? 2);

function vmHwmMiB(): number {
  const hit = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hit ? Number(hit[1]) / 1024 : Number.NaN;
}

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.warn });
let t = performance.now();
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const loadMs = performance.now() - t;
const context = await model.createContext({ contextSize: 512, batchSize: 512, threads, flashAttention: false });
// the same prompt ids as our runtime's benchText: (i * 7919) mod the text range
const vocabEnd = Number(vArg);
const prompt: number[] = [];
for (let i = 0; i < n; i++) prompt.push((i * 7919) % vocabEnd);
// warm-up: one short pass (thread pool, buffers), then a fresh sequence
{
  const s = context.getSequence();
  await s.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 4) as never);
  s.dispose();
}
const seq = context.getSequence();
t = performance.now();
let ttftMs = 0;
let decodeStart = 0;
let got = 0;
for await (const _tok of seq.evaluate(prompt as never, { temperature: 0 })) {
  got++;
  if (got === 1) {
    ttftMs = performance.now() - t;
    decodeStart = performance.now();
  }
  if (got > m) break;
}
const decodeMs = performance.now() - decodeStart;
process.stdout.write(`${JSON.stringify({ loadMs, ttftMs, decodeMs, decodeTokens: m, promptTokens: n, threads, peakRssMiB: vmHwmMiB() })}\n`);
await context.dispose();
await model.dispose();
await llama.dispose();
