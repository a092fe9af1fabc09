// Runs the bundled Electron main process (dist/main/main.js, exactly what ships) under Node with a stand-in
// for the `electron` module (support/fake-electron.mjs) that records what the app asks of Electron and then
// calls the handlers the app installed as Electron would. The Electron binary is never needed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOperationChannels } from '../../../src-shared/contracts';
import { contentSecurityPolicy } from '../../../src-main/shell/content-security-policy';
import { ensureRendererBuilt } from '../../support/browser-session';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REGISTER = path.join(__dirname, 'support', 'register-fake-electron.mjs');

interface Report {
  calls: Array<string | [string, unknown]>;
  probes: Record<string, unknown>;
  probeError?: string;
}

function runMain(work: string, policy: unknown | null): Report {
  const reportFile = path.join(work, `report-${Date.now()}.json`);
  const policyFile = path.join(work, `policy-${Date.now()}.json`);
  if (policy !== null) writeFileSync(policyFile, JSON.stringify(policy), { mode: 0o644 });
  execFileSync(process.execPath, ['--import', REGISTER, path.join(ROOT, 'dist', 'main', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, HEALTHGPT_DATA_DIR: path.join(work, 'data'), HEALTHGPT_POLICY_FILE: policyFile, HEALTHGPT_FAKE_ELECTRON_REPORT: reportFile },
    stdio: 'pipe',
    timeout: 60_000,
  });
  return JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
}

const callNames = (r: Report) => r.calls.map((c) => (typeof c === 'string' ? c : c[0]));
const callArgs = (r: Report, name: string) => r.calls.filter((c): c is [string, unknown] => Array.isArray(c) && c[0] === name).map((c) => c[1]);

let work: string;
let report: Report;

beforeAll(() => {
  ensureRendererBuilt();
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-electron.mjs')], { cwd: ROOT, stdio: 'pipe' });
  work = mkdtempSync(path.join(os.tmpdir(), 'hgpt-main-bundle-'));
  report = runMain(work, null);
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the bundled Electron main process', () => {
  it('starts in order: privileged scheme and sandbox before ready, single-instance lock, then the window', () => {
    expect(report.probeError).toBeUndefined();
    const names = callNames(report);
    expect(names.indexOf('protocol.registerSchemesAsPrivileged')).toBeLessThan(names.indexOf('app.whenReady'));
    expect(callArgs(report, 'protocol.registerSchemesAsPrivileged')[0]).toMatchObject({ beforeReady: true, schemes: [{ scheme: 'app', privileges: { standard: true, secure: true } }] });
    expect(names).toContain('app.enableSandbox');
    expect(names.indexOf('app.requestSingleInstanceLock')).toBeLessThan(names.indexOf('new BrowserWindow'));
    expect(callArgs(report, 'app.on')).toEqual(expect.arrayContaining(['second-instance', 'window-all-closed', 'will-quit', 'web-contents-created']));
    expect(callArgs(report, 'window.loadURL')).toEqual(['app://healthgpt/index.html']);
    expect(callArgs(report, 'session.setSpellCheckerEnabled')).toEqual([false]);
  });

  it('creates the window with the hardened preferences and a preload that exists', () => {
    const [options] = callArgs(report, 'new BrowserWindow') as Array<{ webPreferences: Record<string, unknown> }>;
    expect(options?.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, devTools: true });
    expect(options?.webPreferences.preload).toBe(path.join(ROOT, 'dist', 'main', 'preload.cjs'));
    expect(existsSync(String(options?.webPreferences.preload))).toBe(true);
  });

  it('serves the renderer from app:// with the CSP, and nothing outside it', () => {
    expect(report.probes.index).toEqual({ status: 200, csp: contentSecurityPolicy(), type: 'text/html; charset=utf-8', startsWithDoctype: true });
    expect(report.probes.escape).toBe(403);
    expect(report.probes.otherHost).toBe(403);
  });

  it('refuses navigation away, redirects, webviews, popups, permissions, devices, downloads and remote requests', () => {
    expect(report.probes).toMatchObject({
      navigateRemote: true,
      navigateFile: true,
      navigateApp: false,
      redirectRemote: true,
      webview: true,
      windowOpen: { action: 'deny' },
      permission: false,
      permissionCheck: false,
      device: false,
      displayMedia: {},
      download: true,
      remoteCancel: { cancel: true },
    });
    expect(report.probes.remoteFilter).toEqual(expect.arrayContaining(['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*']));
    expect(report.probes.headers).toEqual({ responseHeaders: { 'x-a': ['1'], 'Content-Security-Policy': [contentSecurityPolicy()] } });
  });

  it('serves every contract channel over IPC to its own main frame only, with events to that window', () => {
    expect(report.probes.ipcChannels).toEqual([...allOperationChannels()].sort());
    expect(report.probes.ipcMainFrame).toMatchObject({ ok: true, value: { mode: 'electron', policy: { locked: false } } });
    expect(report.probes.ipcSubframe).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
    expect(report.probes.ipcOtherOrigin).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
    expect(report.probes.ipcBadPayload).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(report.probes.job).toEqual({ started: true, eventsToWindow: ['jobs:progress', 'jobs:final'] });
  });

  it('with an invalid machine policy: starts locked down and says so in a dialog', () => {
    const locked = runMain(work, { disableExport: 'sometimes' });
    expect(locked.probeError).toBeUndefined();
    expect(callArgs(locked, 'dialog.showMessageBox')).toEqual(['HealthGPT Workstation is locked down']);
    expect(locked.probes.ipcMainFrame).toMatchObject({ ok: true, value: { policy: { locked: true } } });
    expect(callArgs(report, 'dialog.showMessageBox')).toEqual([]);
  }, 60_000);
});
