// Runs electron-builder for real (Linux, unpacked "dir" target) with electron-builder.yml, substituting a
// stand-in for the Electron binary (a small file carrying Electron's fuse wire; the real one cannot be
// downloaded here) and skipping the native rebuild for Electron (it needs Electron's headers). Checks what
// would ship: the app.asar contents, what is unpacked beside it, the fuses, and that the packaged main
// process starts from the packaged files alone.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOperationChannels } from '../../../src-shared/contracts';
import { ensureRendererBuilt } from '../../support/browser-session';
import { checkFuses } from '../../../scripts/packaging/fuses.mjs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const asar = createRequire(import.meta.url)('@electron/asar') as {
  listPackage(archive: string, options?: object): string[];
  extractAll(archive: string, dest: string): void;
};
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

let work: string;
let appOut: string;
let files: string[];

beforeAll(() => {
  ensureRendererBuilt();
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-electron.mjs')], { cwd: ROOT, stdio: 'pipe' });
  work = mkdtempSync(path.join(os.tmpdir(), 'hgpt-package-'));
  // Stand-in Electron distribution: the executable (with Electron's default fuse wire) and the files beside it.
  const dist = path.join(work, 'electron-dist');
  mkdirSync(path.join(dist, 'resources'), { recursive: true });
  const filler = Buffer.alloc(4096, 0x90);
  writeFileSync(path.join(dist, 'electron'), Buffer.concat([filler, Buffer.from(SENTINEL), Buffer.from([1, 8, 49, 48, 49, 49, 48, 48, 48, 49]), filler]), { mode: 0o755 });
  writeFileSync(path.join(dist, 'version'), '41.7.1');
  writeFileSync(path.join(dist, 'LICENSE'), 'stand-in');
  writeFileSync(path.join(dist, 'LICENSES.chromium.html'), 'stand-in');
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js'),
      '--linux',
      'dir',
      '--config',
      'electron-builder.yml',
      `-c.electronDist=${dist}`,
      '-c.npmRebuild=false',
      `-c.directories.output=${path.join(work, 'out')}`,
    ],
    { cwd: ROOT, stdio: 'pipe', timeout: 400_000 },
  );
  appOut = path.join(work, 'out', 'linux-unpacked');
  files = asar.listPackage(path.join(appOut, 'resources', 'app.asar')).map((f) => f.replace(/\\/g, '/').replace(/^\//, ''));
}, 480_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('electron-builder output (Linux, unpacked)', () => {
  it('app.asar holds only package.json, the bundles, the renderer and production node_modules', () => {
    const outside = files.filter((f) => !/^(package\.json|dist|dist\/main|dist\/renderer(\/.*)?|node_modules(\/.*)?)$/.test(f) && !/^dist\/main\/[\w.-]+\.c?js$/.test(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(files).toContain(pkg.main);
    expect(files).toContain('dist/main/preload.cjs');
    expect(files).toContain('dist/renderer/index.html');
    for (const dep of Object.keys(pkg.dependencies)) expect(files, dep).toContain(`node_modules/${dep}/package.json`);
    for (const dev of ['electron', 'electron-builder', 'vite', 'vitest', 'typescript', 'playwright-core', '@doyensec/electronegativity']) {
      expect(files, dev).not.toContain(`node_modules/${dev}/package.json`);
    }
    expect(files.filter((f) => f.startsWith('node_modules/@rollup/'))).toEqual([]);
  });

  it('native code is unpacked beside app.asar: the SQLite binding and ONNX Runtime for this OS and CPU only', () => {
    const unpacked = path.join(appOut, 'resources', 'app.asar.unpacked', 'node_modules');
    expect(statSync(path.join(unpacked, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')).size).toBeGreaterThan(100_000);
    const ort = path.join(unpacked, 'onnxruntime-node', 'bin', 'napi-v6');
    expect(existsSync(path.join(ort, 'linux', 'x64', 'onnxruntime_binding.node'))).toBe(true);
    expect(existsSync(path.join(ort, 'linux', 'x64', 'libonnxruntime.so.1'))).toBe(true);
    for (const other of ['darwin', 'win32', path.join('linux', 'arm64')]) expect(existsSync(path.join(ort, other)), other).toBe(false);
    expect(files.filter((f) => /onnxruntime-node\/bin\/napi-v6\/(darwin|win32|linux\/arm64)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /better-sqlite3\/(deps|src)\//.test(f))).toEqual([]);
  });

  it('the executable carries the workstation fuses (flipped by the afterPack hook during the build)', async () => {
    const exe = path.join(appOut, 'healthgpt-workstation');
    expect(existsSync(exe)).toBe(true);
    expect(await checkFuses(exe)).toEqual([]);
  });

  it('the packaged main process starts from the packaged files alone and serves every channel', () => {
    const extracted = path.join(work, 'extracted');
    asar.extractAll(path.join(appOut, 'resources', 'app.asar'), extracted);
    const report = path.join(work, 'report.json');
    execFileSync(process.execPath, ['--import', path.join(__dirname, 'support', 'register-fake-electron.mjs'), path.join(extracted, 'dist', 'main', 'main.js')], {
      cwd: extracted,
      env: { ...process.env, HEALTHGPT_DATA_DIR: path.join(work, 'data'), HEALTHGPT_POLICY_FILE: path.join(work, 'none.json'), HEALTHGPT_FAKE_ELECTRON_REPORT: report, NODE_PATH: '' },
      stdio: 'pipe',
      timeout: 60_000,
    });
    const result = JSON.parse(readFileSync(report, 'utf8')) as { probeError?: string; probes: Record<string, unknown> };
    expect(result.probeError).toBeUndefined();
    expect(result.probes.index).toMatchObject({ status: 200, startsWithDoctype: true });
    expect(result.probes.ipcChannels).toEqual([...allOperationChannels()].sort());
    expect(result.probes.ipcMainFrame).toMatchObject({ ok: true, value: { mode: 'electron' } });
  }, 120_000);
});
