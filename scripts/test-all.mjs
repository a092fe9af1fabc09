#!/usr/bin/env node
// `npm test`: every check the project has, in order, each one's outcome printed; exits non-zero if any
// failed. Runs all steps even after a failure so one run shows everything that is wrong.
// Python steps use Debian's interpreter at /usr/bin/python3 (the python3 first on PATH may not see
// Debian's torch/onnx/pydicom).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const steps = [
  ['typecheck (every layer)', 'npx', ['tsc', '-b', 'tsconfig.json']],
  ['lint (incl. layer rules)', 'npx', ['eslint', '--max-warnings', '0', 'src-main', 'src-renderer', 'src-shared', 'test', 'bench', 'scripts']],
  ['build renderer', 'npx', ['vite', 'build', '--logLevel', 'warn']],
  ['python model tests', '/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', 'model/tests', '-t', '.'], () => existsSync('model/tests')],
  // A few steps of every training stage and the export, so the training code path stays alive.
  ['nano smoke training', 'sh', ['model/train/smoke_test'], () => existsSync('model/train/smoke_test')],
  ['unit + integration tests', 'npx', ['vitest', 'run', '--project', 'unit']],
  ['end-to-end tests (Chromium)', 'npx', ['vitest', 'run', '--project', 'e2e']],
];

const only = process.argv.slice(2);
const results = [];
for (const [name, cmd, args, when] of steps) {
  if (only.length && !only.some((o) => name.startsWith(o))) continue;
  if (when && !when()) {
    results.push([name, 'skipped (nothing to run)', 0]);
    continue;
  }
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, HEALTHGPT_SKIP_RENDERER_BUILD: '1' } });
  results.push([name, r.status === 0 ? 'passed' : `FAILED (exit ${r.status ?? r.signal})`, (Date.now() - started) / 1000]);
}

const lines = results.map(([n, s, t]) => `${s.startsWith('FAILED') ? '✗' : '✓'} ${n.padEnd(32)} ${s.padEnd(22)} ${t.toFixed(1)} s`);
process.stdout.write(`\n=== summary\n${lines.join('\n')}\n`);
mkdirSync('test-output', { recursive: true });
writeFileSync('test-output/summary.txt', `${lines.join('\n')}\n`);
process.exit(results.some(([, s]) => s.startsWith('FAILED')) ? 1 : 0);
