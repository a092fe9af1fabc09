import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import type { BenchRow } from './bench-types';

/**
 * `npm run bench`: runs every bench/*.bench.ts module (each exports run…Benchmarks(): Promise<BenchRow[]>),
 * prints one table and writes bench/results/latest.json (and a timestamped copy). `npm run bench -- ipc`
 * runs only the modules whose file name contains "ipc".
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const all: BenchRow[] = [];
const failures: string[] = [];
for (const file of modules) {
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as Record<string, unknown>;
  for (const [name, fn] of Object.entries(mod)) {
    if (!/^run\w*Benchmarks$/.test(name) || typeof fn !== 'function') continue;
    process.stderr.write(`running ${file} ${name}…\n`);
    try {
      all.push(...((await (fn as () => Promise<BenchRow[]>)()) ?? []));
    } catch (e) {
      failures.push(`${file} ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));
const w1 = Math.max(9, ...all.map((r) => r.benchmark.length));
const w2 = Math.max(6, ...all.map((r) => r.metric.length));
const lines = [`${'benchmark'.padEnd(w1)}  ${'metric'.padEnd(w2)}  ${'value'.padStart(10)}  unit    note`];
for (const r of all) lines.push(`${r.benchmark.padEnd(w1)}  ${r.metric.padEnd(w2)}  ${fmt(r.value).padStart(10)}  ${r.unit.padEnd(6)}  ${r.note ?? ''}`);
process.stdout.write(`${lines.join('\n')}\n`);

const resultsDir = path.join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const report = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: process.platform }, rows: all, failures };
writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2));
writeFileSync(path.join(resultsDir, `bench-${report.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));
if (failures.length) {
  process.stderr.write(`\nbenchmarks that failed:\n${failures.join('\n')}\n`);
  process.exit(1);
}
