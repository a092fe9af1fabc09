import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHealthgptInProcess } from '../../support/cli-runner';

/** Runs the CLI the way scripts do: `npm run -s healthgpt -- ...` (the smoke test of the real command). */
function runHealthgpt(args: string[], env: Record<string, string> = {}) {
  const dataDir = env.HEALTHGPT_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'healthgpt-cli-'));
  const r = spawnSync('npm', ['run', '-s', 'healthgpt', '--', ...args], { encoding: 'utf8', env: { ...process.env, HEALTHGPT_DATA_DIR: dataDir, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dataDir };
}

describe('healthgpt CLI', () => {
  it('info --json (spawned as scripts run it) prints version, packs, providers and the data folder', () => {
    const r = runHealthgpt(['info', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { version: string; dataDir: string; providers: { available: string[] }; packs: unknown[] };
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.dataDir).toBe(r.dataDir);
    expect(info.providers.available).toContain('cpu');
    expect(Array.isArray(info.packs)).toBe(true);
  });

  it('exits non-zero with a clear message on an unknown command or option', async () => {
    const unknown = await runHealthgptInProcess(['frobnicate', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringContaining('unknown command "frobnicate') } });
    const badOption = await runHealthgptInProcess(['info', '--bogus']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Unknown option '--bogus'/);
  });

  it('--help lists the commands', async () => {
    const r = await runHealthgptInProcess(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/info\s+Version/);
  });
});
