// The Electron shell's security settings, read from the modules the app uses, without the Electron binary.
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEventChannels, allOperationChannels, contracts } from '../../../src-shared/contracts';
import { contentSecurityPolicy } from '../../../src-main/shell/content-security-policy';
import { APP_ENTRY_URL, appResponseHeaders, isAppUrl, resolveAppRequest, serveAppRequest } from '../../../src-main/electron/app-protocol';
import { channelTable } from '../../../src-main/electron/channel-table';
import { wireIpc, type IpcMainLike } from '../../../src-main/electron/ipc-wiring';
import { buildPreloadApi } from '../../../src-main/electron/preload-api-builder';
import { electronSenderInfo, frameOrigin } from '../../../src-main/electron/sender-info';
import type { BrowserWindowConstructorOptions } from 'electron';
import { createWorkstationWindow } from '../../../src-main/electron/window-options';
import { loadMachinePolicy } from '../../../src-main/policy/machine-policy';
import { APP_ORIGIN, createServices, type Services } from '../../../src-main/services';

interface CspFinding {
  directive: string;
  severity: number;
  description: string;
}
const { CspEvaluator, CspParser, Version, severities } = createRequire(import.meta.url)('@doyensec/csp-evaluator') as {
  CspParser: new (csp: string) => { csp: unknown };
  CspEvaluator: new (csp: unknown, version: unknown) => { evaluate(): CspFinding[] };
  Version: { CSP3: unknown };
  severities: Record<'HIGH' | 'MEDIUM' | 'SYNTAX' | 'MEDIUM_MAYBE', number>;
};

/** Parses a CSP header into directive → sources. */
function parseCsp(header: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name, sources);
  }
  return map;
}

/** Stands in for Electron's BrowserWindow: records exactly what the app passes to the constructor. */
class RecordingWindow {
  static last: BrowserWindowConstructorOptions | null = null;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    RecordingWindow.last = options;
  }
}

describe('BrowserWindow options', () => {
  const window = createWorkstationWindow(RecordingWindow, { preloadPath: '/app/dist/main/preload.cjs', devTools: false });
  const prefs = window.options.webPreferences ?? {};

  it('the window is created with the hardened set', () => {
    expect(RecordingWindow.last).toBe(window.options);
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.experimentalFeatures).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.plugins).toBe(false);
    expect(prefs.enableBlinkFeatures).toBeUndefined();
    expect(prefs.disableBlinkFeatures).toBe('Auxclick');
    expect(prefs.spellcheck).toBe(false);
    expect(prefs.preload).toBe('/app/dist/main/preload.cjs');
    expect(prefs.devTools).toBe(false);
    expect(prefs.session).toBeUndefined();
    expect(prefs.partition).toBeUndefined();
    expect(prefs.additionalArguments).toBeUndefined();
  });

  it('only DevTools follows the input (development runs); nothing else can be weakened', () => {
    const dev = createWorkstationWindow(RecordingWindow, { preloadPath: 'p', devTools: true }).options.webPreferences ?? {};
    expect(dev.devTools).toBe(true);
    const { devTools: _a, preload: _b, ...rest } = dev;
    const { devTools: _c, preload: _d, ...restShipped } = prefs;
    expect(rest).toEqual(restShipped);
  });

  it('main.ts creates its window only through createWorkstationWindow', () => {
    const main = readFileSync(path.join(__dirname, '../../../src-main/electron/main.ts'), 'utf8');
    expect(main).toMatch(/createWorkstationWindow\(BrowserWindow,/);
    expect(main).not.toMatch(/new BrowserWindow\(/);
    expect(main).not.toMatch(/webPreferences/);
  });
});

describe('Content-Security-Policy', () => {
  it('the app:// responses carry a strict policy: no remote origins, no eval, no inline script', () => {
    const headers = appResponseHeaders('text/html');
    const csp = parseCsp(headers['Content-Security-Policy'] ?? '');
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
    for (const [directive, sources] of csp) {
      for (const source of sources) {
        expect(source, `${directive} allows ${source}`).not.toMatch(/^(https?:|wss?:|\*|'unsafe-eval'|'unsafe-hashes')/);
        if (directive === 'script-src') expect(source).not.toBe("'unsafe-inline'");
      }
    }
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
  });

  it("Google's CSP evaluator finds nothing high or medium", () => {
    const findings = new CspEvaluator(new CspParser(contentSecurityPolicy()).csp, Version.CSP3).evaluate();
    const serious = findings.filter((f) => f.severity === severities.HIGH || f.severity === severities.MEDIUM);
    expect(serious.map((f) => `${f.directive}: ${f.description}`)).toEqual([]);
    // Reviewed and accepted: 'self' only serves our own bundle (no JSONP, no uploads); the evaluator does not
    // know the CSP3 keyword 'wasm-unsafe-eval' (needed for WebAssembly codecs, it allows no JS eval).
    expect(findings.map((f) => [f.directive, f.severity]).sort()).toEqual([
      ['script-src', severities.SYNTAX],
      ['script-src', severities.MEDIUM_MAYBE],
    ].sort());
    const weak = new CspEvaluator(new CspParser("script-src 'self' 'unsafe-eval' https:").csp, Version.CSP3).evaluate();
    expect(weak.some((f) => f.severity === severities.HIGH)).toBe(true);
  });

  it('browser mode adds only the loopback bridge', () => {
    const csp = parseCsp(contentSecurityPolicy({ bridgeOrigin: 'ws://127.0.0.1:5555' }));
    expect(csp.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:5555']);
  });
});

describe('app:// protocol', () => {
  let rendererDir: string;
  beforeAll(() => {
    rendererDir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-renderer-'));
    mkdirSync(path.join(rendererDir, 'assets'));
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(path.join(path.dirname(rendererDir), 'secret.txt'), 'secret');
  });
  afterAll(() => rmSync(rendererDir, { recursive: true, force: true }));

  it('serves the renderer folder with the CSP header', async () => {
    expect(APP_ENTRY_URL).toBe(`${APP_ORIGIN}/index.html`);
    const index = await serveAppRequest('app://healthgpt/', rendererDir);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<title>x</title>');
    expect(index.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    const js = await serveAppRequest('app://healthgpt/assets/app.js', rendererDir);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('refuses other hosts, path escapes and missing files', async () => {
    expect(resolveAppRequest('app://evil/index.html', rendererDir).status).toBe(403);
    // URL parsing folds ../ and %2e%2e/ away, so these stay inside the folder (and find nothing there)
    for (const url of ['app://healthgpt/../secret.txt', 'app://healthgpt/%2e%2e/secret.txt']) {
      const target = resolveAppRequest(url, rendererDir);
      expect(target.status === 200 && target.file).toBe(path.join(rendererDir, 'secret.txt'));
    }
    expect(resolveAppRequest('app://healthgpt/..%2fsecret.txt', rendererDir).status).toBe(403);
    expect(resolveAppRequest('app://healthgpt/%00', rendererDir).status).toBe(400);
    expect(resolveAppRequest('app://healthgpt/%E0%A4%A', rendererDir).status).toBe(400);
    expect(resolveAppRequest('file:///etc/passwd', rendererDir).status).toBe(403);
    const escaped = await serveAppRequest('app://healthgpt/..%2fsecret.txt', rendererDir);
    expect(escaped.status).toBe(403);
    expect((await serveAppRequest('app://healthgpt/%2e%2e/secret.txt', rendererDir)).status).toBe(404);
    expect(await escaped.text()).not.toContain('secret');
    expect((await serveAppRequest('app://healthgpt/nope.js', rendererDir)).status).toBe(404);
  });

  it('navigation is allowed only within app://healthgpt', () => {
    expect(isAppUrl('app://healthgpt/index.html#/study/1')).toBe(true);
    for (const url of ['https://example.com/', 'http://127.0.0.1:1/', 'file:///etc/passwd', 'app://other/', 'data:text/html,x', 'javascript:alert(1)', 'not a url']) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });
});

describe('Electron IPC wiring', () => {
  let services: Services;
  let dataDir: string;
  const handlers = new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>();
  const recorder: IpcMainLike = {
    handle: (channel: string, listener: (event: never, ...args: never[]) => unknown) => {
      handlers.set(channel, listener as unknown as (event: unknown, payload: unknown) => Promise<unknown>);
    },
    removeHandler: (channel: string) => {
      handlers.delete(channel);
    },
  };

  class FakeContents extends EventEmitter {
    readonly sent: Array<[string, unknown]> = [];
    destroyed = false;
    readonly mainFrame = { url: 'app://healthgpt/index.html' };
    constructor(readonly id: number) {
      super();
    }
    send(channel: string, payload: unknown) {
      this.sent.push([channel, payload]);
    }
    isDestroyed() {
      return this.destroyed;
    }
    destroy() {
      this.destroyed = true;
      this.emit('destroyed');
    }
  }
  const eventFrom = (contents: FakeContents, frame: { url: string } | null) => ({ sender: contents, senderFrame: frame });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-wiring-'));
    services = await createServices({ mode: 'test', dataDir, policy: loadMachinePolicy({ path: path.join(dataDir, 'no-policy.json') }) });
  });
  afterAll(async () => {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers exactly the contract channels, and unregisters them', () => {
    const unwire = wireIpc(recorder, services);
    expect([...handlers.keys()].sort()).toEqual(allOperationChannels().sort());
    unwire();
    expect(handlers.size).toBe(0);
  });

  it('serves our main frame and refuses subframes, other origins and missing frames', async () => {
    const unwire = wireIpc(recorder, services);
    try {
      const contents = new FakeContents(1);
      const call = (frame: { url: string } | null) => handlers.get('app:ping')?.(eventFrom(contents, frame), { sentAt: 1 });
      expect(await call(contents.mainFrame)).toMatchObject({ ok: true, value: { sentAt: 1 } });
      expect(await call({ url: 'app://healthgpt/index.html' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
      const foreign = new FakeContents(2);
      Object.assign(foreign.mainFrame, { url: 'https://evil.example/' });
      expect(await handlers.get('app:ping')?.(eventFrom(foreign, foreign.mainFrame), { sentAt: 1 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
      expect(await call(null)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
      expect(await handlers.get('app:ping')?.(eventFrom(contents, contents.mainFrame), { sentAt: 'x' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    } finally {
      unwire();
    }
  });

  it('sends job events only to the window that started the job, and cancels its jobs when it closes', async () => {
    const unwire = wireIpc(recorder, services);
    try {
      const a = new FakeContents(10);
      const b = new FakeContents(11);
      const started = (await handlers.get('jobs:start-self-test')?.(eventFrom(a, a.mainFrame), { steps: 1000, stepMs: 5 })) as { ok: true; value: { jobId: string } };
      expect(started.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 150));
      expect(a.sent.some(([channel]) => channel === 'jobs:progress')).toBe(true);
      expect(b.sent).toEqual([]);
      a.destroy();
      const final = await services.jobs.wait(started.value.jobId);
      expect(final.status).toBe('cancelled');
      expect(b.sent).toEqual([]);
    } finally {
      unwire();
    }
  });

  it('builds SenderInfo from the frame origin (app:// is a non-special URL scheme)', () => {
    expect(frameOrigin('app://healthgpt/index.html#x')).toBe(APP_ORIGIN);
    expect(frameOrigin('file:///index.html')).toBeNull();
    expect(frameOrigin('about:blank')).toBeNull();
    expect(frameOrigin('')).toBeNull();
    const main = { url: 'app://healthgpt/' };
    expect(electronSenderInfo(main, main)).toEqual({ transport: 'electron', origin: APP_ORIGIN, isMainFrame: true, authenticated: false });
    expect(electronSenderInfo({ url: 'app://healthgpt/' }, main).isMainFrame).toBe(false);
  });
});

describe('preload API', () => {
  function fakeIpc() {
    const invoked: Array<[string, unknown]> = [];
    const listeners = new Map<string, Set<(event: unknown, payload: unknown) => void>>();
    return {
      invoked,
      listeners,
      invoke: async (channel: string, payload: unknown) => {
        invoked.push([channel, payload]);
        return { ok: true, value: channel };
      },
      on: (channel: string, l: (event: unknown, payload: unknown) => void) => {
        const set = listeners.get(channel) ?? new Set();
        set.add(l);
        listeners.set(channel, set);
      },
      removeListener: (channel: string, l: (event: unknown, payload: unknown) => void) => {
        listeners.get(channel)?.delete(l);
      },
    };
  }

  it('exposes one named function per contract operation, bound to its channel, and nothing else', async () => {
    const ipc = fakeIpc();
    const api = buildPreloadApi(ipc, channelTable());
    expect(Object.keys(api).sort()).toEqual([...Object.keys(contracts), 'subscribe'].sort());
    for (const [domain, contract] of Object.entries(contracts)) {
      const ops = (api as unknown as Record<string, Record<string, (r: unknown) => Promise<unknown>>>)[domain] ?? {};
      expect(Object.keys(ops).sort()).toEqual(Object.keys(contract).sort());
      for (const [name, spec] of Object.entries(contract)) {
        await ops[name]?.({ probe: name });
        expect(ipc.invoked.at(-1)).toEqual([spec.channel, { probe: name }]);
      }
    }
    expect(Object.isFrozen(api)).toBe(true);
    expect(JSON.stringify(Object.keys(api))).not.toMatch(/ipcRenderer|invoke|send|on"/);
  });

  it('subscribe accepts only the allowlisted event channels and passes the payload, never the IPC event', () => {
    const ipc = fakeIpc();
    const api = buildPreloadApi(ipc, channelTable());
    for (const bad of ['app:get-info', 'jobs:cancel', 'ELECTRON_BROWSER_REQUIRE', '', 'jobs:progress ']) {
      expect(() => api.subscribe(bad, () => {})).toThrow(/not an event channel/);
    }
    const got: unknown[] = [];
    const off = api.subscribe('jobs:progress', (payload) => got.push(payload));
    expect(allEventChannels()).toContain('jobs:progress');
    const fakeEvent = { sender: 'ipcRenderer would be here' };
    for (const l of ipc.listeners.get('jobs:progress') ?? []) l(fakeEvent, { done: 1 });
    expect(got).toEqual([{ done: 1 }]);
    off();
    expect(ipc.listeners.get('jobs:progress')?.size).toBe(0);
  });
});
