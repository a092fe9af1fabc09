import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../src-shared/ipc/wire-codec';
import { startLoopbackBridge } from '../src-main/ipc/loopback-bridge';
import { createServices } from '../src-main/services';
import { percentile, type BenchRow } from './bench-types';

const ROWS = 512;
const COLS = 512;
const ITERATIONS = 300;

/** IPC round trip of a 512x512 int16 frame: through the registry directly, and over the loopback bridge. */
export async function runIpcBenchmarks(): Promise<BenchRow[]> {
  const services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'healthgpt-bench-ipc-')) });
  const bridge = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs });
  const pixels = new Int16Array(ROWS * COLS).map((_, i) => (i * 31) % 4096);
  const frameBytes = pixels.byteLength;
  const sink = { id: 'bench', send: () => {}, isAlive: () => true };
  const sender = { transport: 'direct' as const, origin: null, isMainFrame: true, authenticated: true };

  const direct: number[] = [];
  for (let i = 0; i < ITERATIONS + 20; i += 1) {
    const t = performance.now();
    const r = await services.registry.dispatch('app:echo-frame', { rows: ROWS, columns: COLS, pixels }, { sink, sender });
    if (!r.ok) throw new Error(r.error.message);
    if (i >= 20) direct.push(performance.now() - t);
  }

  const ws = new WebSocket(`${bridge.url}?token=${bridge.token}`);
  await new Promise((r) => ws.once('open', r));
  const pending = new Map<number, () => void>();
  ws.on('message', (data) => {
    const msg = decodeFrame(new Uint8Array(data as Buffer)) as { id: number };
    pending.get(msg.id)?.();
  });
  const roundTrip = (id: number) =>
    new Promise<void>((resolve) => {
      pending.set(id, resolve);
      ws.send(encodeFrame({ t: 'call', id, channel: 'app:echo-frame', payload: { rows: ROWS, columns: COLS, pixels } }));
    });
  const viaBridge: number[] = [];
  for (let i = 0; i < ITERATIONS + 20; i += 1) {
    const t = performance.now();
    await roundTrip(i);
    if (i >= 20) viaBridge.push(performance.now() - t);
  }
  ws.close();
  await bridge.close();
  await services.close();

  const rows: BenchRow[] = [];
  for (const [name, samples] of [
    ['direct call (registry, schema checks)', direct],
    ['loopback bridge (WebSocket, binary frames)', viaBridge],
  ] as const) {
    const total = samples.reduce((a, b) => a + b, 0);
    rows.push(
      { benchmark: 'ipc 512x512 int16 round trip', metric: `${name} p50`, value: percentile(samples, 50), unit: 'ms' },
      { benchmark: 'ipc 512x512 int16 round trip', metric: `${name} p95`, value: percentile(samples, 95), unit: 'ms' },
      { benchmark: 'ipc 512x512 int16 round trip', metric: `${name} throughput`, value: (2 * frameBytes * samples.length) / (total / 1000) / 1e6, unit: 'MB/s', note: 'bytes both ways / time' },
    );
  }
  return rows;
}
