#!/usr/bin/env node
// Bundles the Electron main process, the sandboxed preload and the headless CLI with esbuild:
//   dist/main/main.js     ESM, Electron main (package.json "main"); npm packages stay in node_modules
//   dist/main/sql-worker.js  the history store's SQL worker thread (started by main.js and cli.js)
//   dist/main/dicom-worker.js  the DICOM parse/decode worker thread (started by main.js and cli.js)
//   dist/main/preload.cjs one CommonJS file with everything inlined: a sandboxed preload may only
//                         require('electron'), so the build fails if anything else is left external
//   dist/main/cli.js      ESM, the `healthgpt` command for installed use
// Usage: node scripts/build-electron.mjs [--metafile]   (the renderer is built separately: vite build)
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'main');
mkdirSync(out, { recursive: true });

// Electron 41 ships Node 24 and Chromium 146; the CLI runs on the Node the README names (>= 20.11).
const common = {
  bundle: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: root,
  // Outputs are written below, each file atomically, only once every check has passed: a test or a running
  // app never reads a half-written bundle, and concurrent builds (parallel test files) cannot clash.
  write: false,
};

// The preload gets channel names only, computed here from the contracts, so it carries no schema code.
const tableBuild = await build({
  ...common,
  metafile: false,
  sourcemap: false,
  write: false,
  entryPoints: ['src-main/electron/channel-table.ts'],
  platform: 'node',
  format: 'esm',
  packages: 'external',
});
// Written beside node_modules so its bare import of zod resolves, loaded, then removed.
const tableFile = path.join(out, `.channel-table-${process.pid}-${Date.now()}.mjs`);
writeFileSync(tableFile, tableBuild.outputFiles[0].text);
let tableModule;
try {
  tableModule = await import(pathToFileURL(tableFile).href);
} finally {
  rmSync(tableFile, { force: true });
}
const channels = tableModule.channelTable();

const results = await Promise.all([
  build({
    ...common,
    // The history store's SQL worker thread is its own file: new Worker(new URL('./sql-worker.js', import.meta.url)).
    // The DICOM worker likewise: new Worker(new URL('./dicom-worker.js', import.meta.url)).
    entryPoints: { main: 'src-main/electron/main.ts', 'sql-worker': 'src-main/store/sql-worker.ts', 'dicom-worker': 'src-main/dicom/dicom-worker.ts' },
    outdir: out,
    outExtension: { '.js': '.js' },
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    external: ['electron'],
  }),
  build({
    ...common,
    entryPoints: { preload: 'src-main/electron/preload.ts' },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    platform: 'browser',
    format: 'cjs',
    target: 'chrome140',
    external: ['electron'],
    define: { __HEALTHGPT_CHANNELS__: JSON.stringify(channels) },
  }),
  build({
    ...common,
    entryPoints: { cli: 'src-main/cli/main.ts' },
    outdir: out,
    outExtension: { '.js': '.js' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  }),
]);

const [mainResult, preloadResult] = results;

// The sandboxed preload: its only import may be electron.
const preloadImports = Object.values(preloadResult.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const foreign = preloadImports.filter((p) => p !== 'electron');
if (foreign.length) {
  console.error(`build-electron: the preload imports ${foreign.join(', ')}; a sandboxed preload may only require electron.`);
  process.exit(1);
}
// The main bundle must not carry the loopback bridge (a development/test transport only).
const mainInputs = Object.keys(mainResult.metafile.inputs);
const bridge = mainInputs.filter((p) => /loopback-bridge|browser-mode/.test(p));
if (bridge.length) {
  console.error(`build-electron: the Electron main bundle includes ${bridge.join(', ')}; the loopback bridge must never ship in the app.`);
  process.exit(1);
}

for (const r of results) {
  for (const file of r.outputFiles) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
}

if (process.argv.includes('--metafile')) {
  writeFileSync(path.join(out, 'meta.json'), JSON.stringify(results.map((r) => r.metafile), null, 1));
}
for (const r of results) {
  for (const [file, o] of Object.entries(r.metafile.outputs)) {
    if (!file.endsWith('.map')) console.log(`${file.padEnd(28)} ${(o.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  }
}
