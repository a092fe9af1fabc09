// electron-builder.yml checked against electron-builder's own schema and validator, its inputs checked to
// exist, and the fuse hook run on a binary carrying Electron's fuse wire. No Electron binary is needed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { minimatch } from 'minimatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { signingOverrides, toCliArgs } from '../../../scripts/packaging/build-installers.mjs';
import { checkFuses, packagedExecutable, WORKSTATION_FUSES } from '../../../scripts/packaging/fuses.mjs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const require = createRequire(import.meta.url);

interface BuilderConfig {
  /** getConfig normalises the YAML list into [{filter: [...]}]. */
  files: Array<string | { filter: string[] }>;
  asarUnpack: string[];
  extraResources: Array<{ from: string; to: string; filter: string[] }>;
  afterPack: string;
  publish: null;
  directories: { output: string; buildResources: string };
  fileAssociations: Array<{ ext: string; mimeType: string }>;
  win: { target: Array<{ target: string }>; signExts: string[]; files?: string[]; azureSignOptions?: Record<string, string> };
  nsis: Record<string, unknown>;
  msi: Record<string, unknown>;
  mac: { target: Array<{ target: string }>; hardenedRuntime: boolean; notarize: boolean; entitlements: string; entitlementsInherit: string; files?: string[] };
  linux: { target: Array<{ target: string }>; mimeTypes: string[]; desktop: { entry: Record<string, string> }; files?: string[] };
  forceCodeSigning?: boolean;
  [key: string]: unknown;
}

type GetConfig = (projectDir: string, configPath: string | null, configFromOptions?: object | null) => Promise<BuilderConfig>;
type ValidateConfiguration = (config: object, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }) => Promise<void>;
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { getConfig: GetConfig; validateConfiguration: ValidateConfiguration };
const quietLogger = { isEnabled: false, add: () => {} };

function schemaValidator() {
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
  // The options electron-builder itself uses (its schema has a custom `typeof` keyword, hence strict: false).
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(schema);
}

/** Every file under the pattern's fixed prefix that the glob matches (POSIX paths relative to ROOT). */
function globFiles(pattern: string): string[] {
  const fixed = pattern.split('/').filter((_, i, parts) => !parts.slice(0, i + 1).some((p) => /[*?[{]/.test(p)));
  const base = path.join(ROOT, ...fixed);
  if (!existsSync(base)) return [];
  if (statSync(base).isFile()) return [fixed.join('/')];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const rel = path.relative(ROOT, full).split(path.sep).join('/');
        if (minimatch(rel, pattern, { dot: true })) out.push(rel);
      }
    }
  };
  walk(base);
  return out;
}

let config: BuilderConfig;

beforeAll(async () => {
  // The packaged inputs are build outputs: the bundles (fast) and the renderer (vite, only if missing).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-electron.mjs')], { cwd: ROOT, stdio: 'pipe' });
  if (!existsSync(path.join(ROOT, 'dist', 'renderer', 'index.html'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
  config = await getConfig(ROOT, 'electron-builder.yml', null);
}, 180_000);

describe('electron-builder.yml', () => {
  it("passes electron-builder's own validator and its JSON schema", async () => {
    await expect(validateConfiguration(config, quietLogger)).resolves.toBeUndefined();
    const validate = schemaValidator();
    expect(validate(config), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('the validator really rejects a misspelt option (so the check above can fail)', async () => {
    const broken = { ...config, nsis: { ...config.nsis, perMachin: true } };
    expect(schemaValidator()(broken)).toBe(false);
    await expect(validateConfiguration(broken, quietLogger)).rejects.toThrow(/configuration\.nsis/);
  });

  it('with Azure Trusted Signing from the environment, still valid', async () => {
    const overrides = signingOverrides({
      AZURE_TRUSTED_SIGNING_ENDPOINT: 'https://weu.codesigning.azure.net',
      AZURE_TRUSTED_SIGNING_ACCOUNT: 'hospital-signing',
      AZURE_TRUSTED_SIGNING_PROFILE: 'public-trust',
      AZURE_TRUSTED_SIGNING_PUBLISHER: 'Example Hospital IT',
      HEALTHGPT_RELEASE: '1',
    });
    const merged = await getConfig(ROOT, 'electron-builder.yml', structuredClone(overrides));
    expect(merged.win.azureSignOptions).toEqual({
      endpoint: 'https://weu.codesigning.azure.net',
      codeSigningAccountName: 'hospital-signing',
      certificateProfileName: 'public-trust',
      publisherName: 'Example Hospital IT',
    });
    expect(merged.forceCodeSigning).toBe(true);
    expect(merged.win.signExts).toEqual(['.node', '.dll']);
    await expect(validateConfiguration(merged, quietLogger)).resolves.toBeUndefined();
    expect(toCliArgs(overrides)).toContain('-c.win.azureSignOptions.endpoint=https://weu.codesigning.azure.net');
    expect(() => signingOverrides({ AZURE_TRUSTED_SIGNING_ENDPOINT: 'https://x' })).toThrow(/AZURE_TRUSTED_SIGNING_ACCOUNT/);
    expect(signingOverrides({})).toEqual({});
  });

  it('Windows: per-machine NSIS and MSI with a fixed upgrade code, signing of .node and .dll', () => {
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis', 'msi']);
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: true, allowElevation: true, deleteAppDataOnUninstall: false });
    expect(config.msi).toMatchObject({ perMachine: true, upgradeCode: 'afa645c4-154a-435e-abf0-3264ab450d1e' });
    expect(config.win.signExts).toEqual(expect.arrayContaining(['.node', '.dll']));
    const raw = readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(raw).not.toMatch(/certificatePassword|cscKeyPassword|APPLE_APP_SPECIFIC_PASSWORD\s*:/);
  });

  it('macOS: hardened runtime, minimal entitlements, notarisation, dmg and zip', () => {
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.notarize).toBe(true);
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg', 'zip']);
    const plist = readFileSync(path.join(ROOT, config.mac.entitlements), 'utf8');
    const keys = [...plist.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1]);
    expect(keys).toEqual(['com.apple.security.cs.allow-jit']);
    expect(config.mac.entitlementsInherit).toBe(config.mac.entitlements);
  });

  it('Linux: deb, rpm, AppImage with a desktop entry for DICOM', () => {
    expect(config.linux.target.map((t) => t.target)).toEqual(['deb', 'rpm', 'AppImage']);
    expect(config.linux.mimeTypes).toEqual(['application/dicom']);
    expect(config.linux.desktop.entry.MimeType).toBe('application/dicom;');
    expect(config.fileAssociations).toEqual([expect.objectContaining({ ext: 'dcm', mimeType: 'application/dicom' })]);
  });

  it('no publishing and no auto-update', () => {
    expect(config.publish).toBeNull();
    expect(config.detectUpdateChannel).toBe(false);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('electron-updater');
  });
});

describe('packaging inputs exist', () => {
  it('files: every listed bundle and the renderer', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
    const patterns = config.files.flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    expect(patterns).toContain('!**/*.map');
    const included = patterns.filter((f) => !f.startsWith('!'));
    for (const pattern of included) expect(globFiles(pattern), pattern).not.toEqual([]);
    // every bundle scripts/build-electron.mjs writes (main, workers, CLI, preload) is packaged
    const packaged = new Set(included.flatMap((p) => globFiles(p)));
    expect(packaged).toContain(pkg.main);
    const bundles = readdirSync(path.join(ROOT, 'dist', 'main')).filter((f) => /\.(c?js)$/.test(f)).map((f) => `dist/main/${f}`);
    expect(bundles.length).toBeGreaterThanOrEqual(3);
    for (const bundle of bundles) expect(packaged.has(bundle), bundle).toBe(true);
    expect(globFiles('dist/renderer/**/*')).toContain('dist/renderer/index.html');
  });

  it('asarUnpack: the SQLite binding and the ONNX Runtime binaries', () => {
    expect(config.asarUnpack.length).toBeGreaterThan(0);
    for (const pattern of config.asarUnpack) expect(globFiles(pattern), pattern).not.toEqual([]);
    const unpacked = config.asarUnpack.flatMap((p) => globFiles(p));
    expect(unpacked).toContain('node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    expect(unpacked.some((f) => f.endsWith('onnxruntime_binding.node'))).toBe(true);
    expect(unpacked.some((f) => /libonnxruntime\.so|onnxruntime\.dll|libonnxruntime.*\.dylib/.test(f))).toBe(true);
  });

  it('exclusions name files that exist, and no platform section has its own files list', () => {
    const patterns = config.files.flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    const expand = (p: string) => p.replaceAll('${platform}', 'linux').replaceAll('${arch}', 'x64');
    for (const pattern of patterns.filter((p) => p.startsWith('!node_modules/'))) {
      // each exclusion removes something real (checked with this machine's platform/arch substituted)
      expect(globFiles(expand(pattern.slice(1))), pattern).not.toEqual([]);
    }
    // electron-builder adds a platform's `files` as a second set next to the top-level one (a union), which
    // would re-include the whole project: see packaging-layout.test.ts for the built result
    expect(config.win.files).toBeUndefined();
    expect(config.mac.files).toBeUndefined();
    expect(config.linux.files).toBeUndefined();
  });

  it('extraResources, afterPack hook, entitlements and build resources', () => {
    for (const r of config.extraResources) expect(statSync(path.join(ROOT, r.from)).isDirectory(), r.from).toBe(true);
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'resources/packs', to: 'packs' }));
    expect(existsSync(path.join(ROOT, config.afterPack))).toBe(true);
    expect(existsSync(path.join(ROOT, config.mac.entitlements))).toBe(true);
    expect(statSync(path.join(ROOT, config.directories.buildResources)).isDirectory()).toBe(true);
  });
});

describe('Electron fuses (afterPack)', () => {
  const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
  /** Electron's default wire: RunAsNode on, cookie encryption off, NODE_OPTIONS on, inspect on, ... */
  const ELECTRON_DEFAULT_WIRE = [49, 48, 49, 49, 48, 48, 48, 49];

  function fakeExecutable(dir: string, name: string, wire: number[]): string {
    const file = path.join(dir, name);
    const filler = Buffer.alloc(4096, 0x90);
    writeFileSync(file, Buffer.concat([filler, Buffer.from(SENTINEL), Buffer.from([1, wire.length, ...wire]), filler]));
    return file;
  }

  it('the hook flips every fuse to the workstation setting and reads it back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-fuses-'));
    try {
      const exe = fakeExecutable(dir, 'healthgpt-workstation', ELECTRON_DEFAULT_WIRE);
      expect(await checkFuses(exe)).toEqual(
        expect.arrayContaining(['RunAsNode is on, must be off', 'EnableCookieEncryption is off, must be on', 'OnlyLoadAppFromAsar is off, must be on']),
      );
      const { default: afterPack } = (await import('../../../scripts/packaging/after-pack.mjs')) as { default: (ctx: object) => Promise<void> };
      await afterPack({ electronPlatformName: 'linux', appOutDir: dir, arch: 1, packager: { executableName: 'healthgpt-workstation', appInfo: { productFilename: 'HealthGPT Workstation' } } });
      expect(await checkFuses(exe)).toEqual([]);
      const bytes = readFileSync(exe);
      const at = bytes.indexOf(SENTINEL) + SENTINEL.length + 2;
      expect([...bytes.subarray(at, at + 8)]).toEqual([48, 49, 48, 48, 49, 49, 48, 48]);
      expect(Object.keys(WORKSTATION_FUSES)).toHaveLength(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the file to patch on each platform', () => {
    const base = { appOutDir: '/out', productFilename: 'HealthGPT Workstation', executableName: 'healthgpt-workstation' };
    expect(packagedExecutable({ ...base, platform: 'win32' })).toBe(path.join('/out', 'HealthGPT Workstation.exe'));
    expect(packagedExecutable({ ...base, platform: 'darwin' })).toBe(path.join('/out', 'HealthGPT Workstation.app'));
    expect(packagedExecutable({ ...base, platform: 'linux' })).toBe(path.join('/out', 'healthgpt-workstation'));
  });

  it('a binary without the fuse wire fails the build', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-fuses-'));
    try {
      writeFileSync(path.join(dir, 'healthgpt-workstation'), Buffer.alloc(1024));
      const { default: afterPack } = (await import('../../../scripts/packaging/after-pack.mjs')) as { default: (ctx: object) => Promise<void> };
      await expect(
        afterPack({ electronPlatformName: 'linux', appOutDir: dir, arch: 1, packager: { executableName: 'healthgpt-workstation', appInfo: { productFilename: 'x' } } }),
      ).rejects.toThrow(/sentinel/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
