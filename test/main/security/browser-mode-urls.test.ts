// Browser mode's static server against malformed and hostile request lines: each gets an answer (400,
// 403, 404 or 405), and the server keeps serving. One bad URL used to stop the whole process
// (decodeURIComponent threw inside the request handler), and an <img> on any page can send one.
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserMode, type BrowserMode } from '../../../src-main/browser-mode';
import { ensureRendererBuilt } from '../../support/browser-session';

let mode: BrowserMode;
let port: number;

/** Sends one raw request line (no client-side normalisation) and returns the status code, or null if the socket closed without one. */
function rawStatus(requestTarget: string, method = 'GET'): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`${method} ${requestTarget} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve(m ? Number(m[1]) : null);
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  ensureRendererBuilt();
  mode = await startBrowserMode({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'healthgpt-urls-')) });
  port = Number(new URL(mode.url).port);
});
afterAll(async () => {
  await mode?.close();
});

describe('browser mode static server: malformed URLs', () => {
  const cases: Array<[string, number[]]> = [
    ['/%E0%A4%A', [400]],
    ['/%', [400]],
    ['/%zz', [400]],
    ['/%C0%AF', [400]],
    ['/%00', [400]],
    ['/index.html%00.js', [400]],
    ['/%2e%2e/%2e%2e/etc/passwd', [403, 404]],
    ['/..%2f..%2fetc%2fpasswd', [403, 404]],
    ['/..%5c..%5cetc%5cpasswd', [403, 404]],
    ['//etc/passwd', [403, 404]],
    ['/' + 'a'.repeat(8000), [404, 414, 431]],
    ['/assets/%ff%fe', [400]],
    ['http://[::1/', [400]],
    ['*', [400, 404]],
  ];
  it.each(cases)('GET %s is answered, not fatal', async (target, allowed) => {
    const status = await rawStatus(target);
    expect(allowed, `status ${status}`).toContain(status);
    // The server is still up and still serves the app after each one.
    expect(await rawStatus('/')).toBe(200);
  });

  it('refuses other methods', async () => {
    expect(await rawStatus('/', 'POST')).toBe(405);
    expect(await rawStatus('/', 'PUT')).toBe(405);
  });

  it('the bridge and the services behind it are still alive after all of them', async () => {
    expect(mode.services.jobs.running()).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });
});
