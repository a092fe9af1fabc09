import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../../src-shared/ipc/wire-codec';
import { assertBridgeAllowed, startLoopbackBridge, type LoopbackBridge } from '../../../src-main/ipc/loopback-bridge';
import { createServices, type Services } from '../../../src-main/services';
import { abusivePayloads } from '../../support/abuse';

interface Frame { t: string; id?: number | null; result?: { ok: boolean; value?: unknown; error?: { code: string; message: string } }; channel?: string; payload?: unknown; error?: { code: string; message: string } }

function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames: Frame[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (data) => frames.push(decodeFrame(new Uint8Array(data as Buffer)) as Frame));
    ws.on('open', () => resolve({ ws, frames, closed }));
    ws.on('error', reject);
  });
}

async function call(ws: WebSocket, frames: Frame[], id: number, channel: unknown, payload: unknown): Promise<Frame> {
  ws.send(encodeFrame({ t: 'call', id, channel, payload }));
  for (let i = 0; i < 400; i += 1) {
    const f = frames.find((x) => x.t === 'result' && x.id === id);
    if (f) return f;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no reply to call ${id}`);
}

describe('loopback bridge', () => {
  let services: Services;
  let bridge: LoopbackBridge;
  beforeAll(async () => {
    services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'healthgpt-bridge-')) });
    bridge = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs });
  });
  afterAll(async () => {
    await bridge?.close();
    await services?.close();
  });

  it('listens on 127.0.0.1 only, with a random per-launch token', async () => {
    expect(bridge.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/bridge$/);
    expect(bridge.token.length).toBeGreaterThanOrEqual(32);
    const other = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs });
    expect(other.token).not.toBe(bridge.token);
    expect(other.port).not.toBe(bridge.port);
    await other.close();
  });

  it('refuses a connection without the token, or with a wrong one, with a clear error envelope', async () => {
    for (const url of [bridge.url, `${bridge.url}?token=wrong`, `${bridge.url}?token=${bridge.token.slice(0, -1)}`]) {
      const { frames, closed } = await connect(url);
      expect(await closed).toBe(4401);
      expect(frames[0]).toMatchObject({ t: 'fatal', error: { code: 'UNAUTHORIZED', message: expect.stringMatching(/token/) } });
    }
  });

  it('refuses a page from another origin even with the token', async () => {
    const guarded = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs, allowedOrigins: () => ['http://127.0.0.1:9'] });
    const { frames, closed } = await connect(`${guarded.url}?token=${guarded.token}`, { Origin: 'http://evil.example' });
    expect(await closed).toBe(4401);
    expect(frames[0]?.error?.message).toMatch(/origin/);
    await guarded.close();
  });

  it('serves the same contract as IPC, with binary pixel frames', async () => {
    const { ws, frames } = await connect(`${bridge.url}?token=${bridge.token}`);
    const pixels = new Int16Array(512 * 512).map((_, i) => (i % 4096) - 2048);
    const reply = await call(ws, frames, 1, 'app:echo-frame', { rows: 512, columns: 512, pixels });
    expect(reply.result?.ok).toBe(true);
    const value = reply.result?.value as { pixels: Int16Array; checksum: number };
    expect(value.pixels).toBeInstanceOf(Int16Array);
    expect(Buffer.from(value.pixels.buffer).equals(Buffer.from(pixels.buffer))).toBe(true);
    ws.close();
  });

  it('answers malformed frames and abusive payloads on every channel with error envelopes and stays up', async () => {
    const { ws, frames } = await connect(`${bridge.url}?token=${bridge.token}`);
    ws.send('a text frame');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(encodeFrame({ t: 'something-else' }));
    await new Promise((r) => setTimeout(r, 100));
    const malformed = frames.filter((f) => f.t === 'result' && f.id === null);
    expect(malformed).toHaveLength(3);
    for (const f of malformed) expect(f.result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    let id = 10;
    for (const channel of services.registry.channels()) {
      const spec = services.registry.describe(channel)!.spec;
      for (const payload of abusivePayloads(spec.request).slice(0, 14)) {
        // What the page can actually send is what survives the wire (JSON drops prototypes and undefined).
        const onWire = (decodeFrame(encodeFrame({ payload })) as { payload?: unknown }).payload;
        if (spec.request.safeParse(onWire).success) continue;
        const reply = await call(ws, frames, (id += 1), channel, payload);
        expect(reply.result?.ok, channel).toBe(false);
      }
    }
    expect((await call(ws, frames, 9999, 'nope:nothing', {})).result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    expect((await call(ws, frames, 10000, 'app:get-info', {})).result?.ok).toBe(true);
    ws.close();
  });

  it('drops an oversized frame by closing that connection only; the service stays up', async () => {
    const small = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs, maxPayloadBytes: 1024 * 1024 });
    const { ws, closed } = await connect(`${small.url}?token=${small.token}`);
    ws.send(encodeFrame({ t: 'call', id: 1, channel: 'app:echo-frame', payload: { rows: 1, columns: 1, pixels: new Int16Array(1024 * 1024) } }));
    expect(await closed).toBe(1009);
    const again = await connect(`${small.url}?token=${small.token}`);
    expect((await call(again.ws, again.frames, 2, 'app:ping', { sentAt: 1 })).result?.ok).toBe(true);
    again.ws.close();
    await small.close();
  });

  it('cancels the jobs of a connection that goes away', async () => {
    const { ws, frames } = await connect(`${bridge.url}?token=${bridge.token}`);
    const started = await call(ws, frames, 1, 'jobs:start-self-test', { steps: 1000, stepMs: 20 });
    const { jobId } = started.result?.value as { jobId: string };
    ws.close();
    const final = await services.jobs.wait(jobId);
    expect(final.status).toBe('cancelled');
  });

  it('cannot start inside Electron', () => {
    expect(() => assertBridgeAllowed({ ...process.versions, electron: '41.0.0' } as NodeJS.ProcessVersions)).toThrow(/cannot run inside the Electron app/);
    expect(() => assertBridgeAllowed(process.versions)).not.toThrow();
  });
});
