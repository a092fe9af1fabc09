/**
 * Child-process probe: loads a pack and reports resident memory after each stage, switching plugins
 * (comprehension ↔ generation) several times. Used by the plugin-switch RSS test and the benchmarks.
 * Usage: tsx bench/model-rss-probe.ts <packDir> <png> [rounds]
 * Prints one JSON line: {stages: {name, rssMiB, ms}[], lmFileMiB, provider}
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { readPngImage } from '../src-main/model/model-image';
import { loadPack } from '../src-main/model/runtime';

const [dir, png, roundsArg] = process.argv.slice(2);
if (!dir || !png) {
  process.stderr.write('usage: model-rss-probe <packDir> <png> [rounds]\n');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 2);
const stages: { name: string; rssMiB: number; ms: number }[] = [];
const mark = (name: string, ms: number): void => {
  stages.push({ name, rssMiB: process.memoryUsage.rss() / 2 ** 20, ms });
};
mark('start', 0);
let t = performance.now();
const rt = await loadPack(dir, { provider: 'cpu' });
mark('loaded', performance.now() - t);
const image = readPngImage(png);
for (let r = 0; r < rounds; r++) {
  t = performance.now();
  await rt.ask({ image, question: 'What is shown?', maxTokens: 4 });
  mark(`ask-${r}`, performance.now() - t);
  t = performance.now();
  await rt.generate({ task: 'recon', image });
  mark(`generate-${r}`, performance.now() - t);
}
const lmFileMiB = statSync(path.join(dir, rt.manifest.graphs.lm)).size / 2 ** 20;
process.stdout.write(`${JSON.stringify({ stages, lmFileMiB, provider: rt.provider })}\n`);
await rt.close();
