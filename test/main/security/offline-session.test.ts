// Proves the workstation makes no network connection other than loopback: the real main-process services
// run in browser mode in a child process whose every connect/send/DNS lookup is recorded, and Debian's
// Chromium runs the real renderer through a session (shell, status, a job to completion, a cancelled job)
// with every request it makes logged three ways (Playwright's request events, Chromium's own NetLog, and
// `ss` snapshots of both processes' sockets taken throughout).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../support/chromium';
import { ensureRendererBuilt } from '../../support/browser-session';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RECORDER = path.join(__dirname, 'support', 'net-recorder.mjs');
const run = promisify(execFile);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '::ffff:127.0.0.1']);
/** What a process may look up or connect to without leaving the machine (bind addresses included). */
const isLocalTarget = (host: string) => isLoopbackHost(host) || host === '0.0.0.0' || host === '::';
const isLoopbackHost = (host: string) => LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Host of a socket address as ss prints it: 127.0.0.1:80, [::1]:80, [::ffff:127.0.0.1]:80, *:*, 0.0.0.0%lo:53 */
function ssHost(address: string): string {
  const bracket = /^\[([^\]]+)\](?:%[\w.-]+)?:[\d*]+$/.exec(address);
  if (bracket?.[1]) return bracket[1];
  return address.replace(/:[\d*]+$/, '').replace(/%[\w.-]+$/, '');
}

/** Every descendant of a process (and itself), from /proc. */
function processTree(root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree = new Set<number>([root]);
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      if (tree.has(child)) continue;
      tree.add(child);
      queue.push(child);
    }
  }
  return tree;
}

interface SocketRow {
  netid: string;
  state: string;
  local: string;
  peer: string;
  process: string;
}

/** TCP and UDP sockets (all states) owned by the given processes. */
async function socketsOf(pids: Set<number>): Promise<SocketRow[]> {
  const { stdout } = await run('ss', ['-tunapH']);
  const rows: SocketRow[] = [];
  for (const line of stdout.split('\n')) {
    const pidList = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    if (!pidList.some((p) => pids.has(p))) continue;
    const [netid = '', state = '', , , local = '', peer = ''] = line.trim().split(/\s+/);
    rows.push({ netid, state, local, peer, process: line.slice(line.indexOf('users:')) });
  }
  return rows;
}

/** A socket is acceptable when its far end is loopback, or, unconnected, it listens on loopback only. */
function socketProblem(row: SocketRow): string | null {
  const peerHost = ssHost(row.peer);
  if (peerHost === '*' || row.peer.endsWith(':*')) {
    return isLoopbackHost(ssHost(row.local)) ? null : `${row.netid} ${row.state} bound to ${row.local} (not loopback) ${row.process}`;
  }
  return isLoopbackHost(peerHost) ? null : `${row.netid} ${row.state} ${row.local} -> ${row.peer} ${row.process}`;
}

interface NetLogAnalysis {
  /** URL requests made for our page: our origin appears in their events (initiator, isolation key, Origin). */
  pageUrls: string[];
  /** Host resolutions made for our page (network anonymisation key names our site). */
  pageHosts: string[];
  /** Requests in which our page appears nowhere: Chromium's own background services. */
  browserInternalUrls: string[];
}

/**
 * Reads a Chromium NetLog (--log-net-log) and attributes every URL request: to our page, or to the browser's
 * own background services (Debian's Chromium still runs its component updater, time and account checks with
 * --disable-background-networking; Electron ships none of these services).
 */
function analyzeNetLog(file: string, pageSite: string): NetLogAnalysis {
  const log = JSON.parse(readFileSync(file, 'utf8')) as {
    constants: { logEventTypes: Record<string, number> };
    events: Array<{ type: number; source: { id: number }; params?: Record<string, unknown> }>;
  };
  const type = log.constants.logEventTypes;
  const requests = new Map<number, { url?: string; mentions: boolean }>();
  const pageHosts = new Set<string>();
  for (const event of log.events) {
    const p = event.params ?? {};
    const entry = requests.get(event.source.id) ?? { mentions: false };
    if (event.type === type.REQUEST_ALIVE && typeof p.url === 'string') {
      entry.url = p.url;
      requests.set(event.source.id, entry);
    }
    if (requests.has(event.source.id) && JSON.stringify(p).includes(pageSite)) entry.mentions = true;
    if (typeof p.host === 'string' && typeof p.network_anonymization_key === 'string' && p.network_anonymization_key.includes(pageSite)) {
      pageHosts.add(p.host.replace(/^[a-z]+:\/\//, '').replace(/:\d+$/, ''));
    }
  }
  const result: NetLogAnalysis = { pageUrls: [], pageHosts: [...pageHosts], browserInternalUrls: [] };
  for (const { url, mentions } of requests.values()) {
    if (!url) continue;
    if (mentions || url.startsWith(pageSite)) result.pageUrls.push(url);
    else result.browserInternalUrls.push(url);
  }
  return result;
}

function urlIsLocal(url: string): boolean {
  if (/^(data|blob|about|chrome|devtools|chrome-error):/.test(url)) return true;
  try {
    return isLoopbackHost(new URL(url).hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/** Chromium as the e2e tests launch it, plus a NetLog of everything its network stack does. */
function launchWithNetLog(netLog: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      // Chrome's autofill crowdsourcing queries Google about forms on any page; Electron does not ship it.
      '--disable-features=AutofillServerCommunication',
      `--log-net-log=${netLog}`,
      '--net-log-capture-mode=Default',
    ],
  });
}

describe('no outbound network: a full browser-mode session', () => {
  let work: string;
  let service: ChildProcess;
  let serviceLog: string;
  let appUrl: string;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const websockets: string[] = [];
  const socketProblems = new Set<string>();
  const socketsSeen = { service: 0 };
  let sampler: ReturnType<typeof setInterval> | null = null;
  let sampling: Promise<void> = Promise.resolve();

  const sample = async () => {
    const servicePids = processTree(service.pid ?? -1);
    const serviceRows = await socketsOf(servicePids);
    socketsSeen.service += serviceRows.length;
    for (const row of serviceRows) {
      const problem = socketProblem(row);
      if (problem) socketProblems.add(problem);
    }
  };

  beforeAll(async () => {
    ensureRendererBuilt();
    work = mkdtempSync(path.join(os.tmpdir(), 'hgpt-offline-'));
    serviceLog = path.join(work, 'service-net.jsonl');
    service = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', RECORDER, path.join(ROOT, 'src-main', 'browser-mode.ts'), '--port', '0', '--data-dir', path.join(work, 'data')],
      {
        cwd: ROOT,
        env: { ...process.env, HEALTHGPT_NET_LOG: serviceLog, HEALTHGPT_POLICY_FILE: path.join(work, 'no-policy.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    appUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`browser mode did not start: ${out}${err}`)), 60_000);
      service.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Open: (\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      service.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      service.on('exit', (code) => reject(new Error(`browser mode exited (${code}): ${err}`)));
    });
    browser = await launchWithNetLog(path.join(work, 'chromium-netlog.json'));
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('websocket', (ws) => websockets.push(ws.url()));
    sampler = setInterval(() => {
      sampling = sampling.then(sample).catch(() => {});
    }, 150);
  }, 180_000);

  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await sampling;
    await browser?.close().catch(() => {});
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs a session: the shell loads over the bridge, a job completes, a job is cancelled', async () => {
    await page.goto(appUrl);
    await expect.poll(() => page.getByTestId('status-provider').textContent(), { timeout: 30_000 }).toMatch(/CPU/);
    await sample();
    await page.getByTestId('run-diagnostics').click();
    await expect.poll(() => page.getByTestId('job').first().getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    await page.getByTestId('run-diagnostics').click();
    const running = page.locator('[data-testid="job"][data-state="running"]').first();
    await running.getByTestId('job-cancel').click();
    await expect.poll(() => page.locator('[data-testid="job"][data-state="cancelled"]').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.reload();
    await expect.poll(() => page.getByTestId('status-provider').textContent(), { timeout: 30_000 }).toMatch(/CPU/);
    await sample();
    // the sampler really saw the service's sockets (its listening socket and the bridge connection)
    expect(socketsSeen.service).toBeGreaterThan(0);
  }, 120_000);

  it('the page requested only the loopback app and bridge', () => {
    expect(requests.length).toBeGreaterThan(1);
    expect(requests.filter((u) => !urlIsLocal(u))).toEqual([]);
    expect(websockets.length).toBeGreaterThan(0);
    expect(websockets.every((u) => u.startsWith('ws://127.0.0.1:'))).toBe(true);
  });

  it('no socket of the service reached beyond loopback, and it listened on loopback only', async () => {
    if (sampler) clearInterval(sampler);
    sampler = null;
    await sampling;
    expect([...socketProblems]).toEqual([]);
  });

  it("the service process made no outbound attempt other than loopback (connect, UDP, DNS)", async () => {
    const entries = existsSync(serviceLog)
      ? readFileSync(serviceLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { kind: string; host?: string; port?: number; path?: string })
      : [];
    const outside = entries.filter((e) => !(e.path || (e.host && isLocalTarget(e.host))));
    expect(outside).toEqual([]);
  });

  it("Chromium's NetLog: every request and host lookup made for the page stayed on loopback", async () => {
    await browser.close();
    const site = new URL(appUrl).origin.replace(/:\d+$/, '');
    const analysis = analyzeNetLog(path.join(work, 'chromium-netlog.json'), site);
    expect(analysis.pageUrls.length).toBeGreaterThan(1);
    expect(analysis.pageUrls.filter((u) => !urlIsLocal(u))).toEqual([]);
    expect(analysis.pageHosts.filter((h) => !isLoopbackHost(h.replace(/^\[|\]$/g, '')))).toEqual([]);
    // What Debian's Chromium did on its own (not the app; Electron has none of these services):
    if (analysis.browserInternalUrls.length) console.info(`Chromium background requests (harness, not the app): ${[...new Set(analysis.browserInternalUrls.map((u) => new URL(u).host))].join(', ')}`);
  }, 60_000);
});

describe('the recorders catch what they must (controls)', () => {
  it('the Node recorder logs a connection, a UDP send and a DNS lookup to outside addresses', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-netctl-'));
    try {
      const log = path.join(dir, 'net.jsonl');
      const script = [
        "const net = require('node:net'); const dns = require('node:dns'); const dgram = require('node:dgram');",
        "const s = net.connect(9, '192.0.2.1'); s.on('error', () => {}); s.destroy();",
        "dns.lookup('example.invalid', () => {});",
        "const u = dgram.createSocket('udp4'); u.send(Buffer.from('x'), 53, '192.0.2.2', () => { u.close(); process.exit(0); });",
      ].join('\n');
      await run(process.execPath, ['--import', RECORDER, '-e', script], { env: { ...process.env, HEALTHGPT_NET_LOG: log } });
      const hosts = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { host?: string }).host ?? '');
      expect(hosts).toEqual(expect.arrayContaining(['192.0.2.1', 'example.invalid', '192.0.2.2']));
      expect(hosts.filter((h) => !isLocalTarget(h)).length).toBeGreaterThanOrEqual(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Chromium's NetLog records a request to an outside address", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-netctl-'));
    const netLog = path.join(dir, 'netlog.json');
    const control = await launchWithNetLog(netLog);
    try {
      const p = await control.newPage();
      await p.goto('http://192.0.2.7:9/', { timeout: 3000 }).catch(() => {});
    } finally {
      await control.close();
    }
    try {
      const analysis = analyzeNetLog(netLog, 'http://192.0.2.7');
      expect(analysis.pageUrls).toContain('http://192.0.2.7:9/');
      expect(analysis.pageUrls.filter((u) => !urlIsLocal(u))).toContain('http://192.0.2.7:9/');
      expect(socketProblem({ netid: 'tcp', state: 'ESTAB', local: '10.0.0.2:5000', peer: '192.0.2.7:443', process: 'x' })).not.toBeNull();
      expect(socketProblem({ netid: 'tcp', state: 'LISTEN', local: '0.0.0.0:8080', peer: '0.0.0.0:*', process: 'x' })).not.toBeNull();
      expect(socketProblem({ netid: 'tcp', state: 'ESTAB', local: '[::ffff:127.0.0.1]:5000', peer: '[::ffff:127.0.0.1]:443', process: 'x' })).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
