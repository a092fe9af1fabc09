import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { abusivePayloads } from '../../support/abuse';
import { allOperationChannels, contracts } from '../../../src-shared/contracts';
import type { DomainContract } from '../../../src-shared/ipc/define';
import { IpcRegistry, workstationSenderPolicy, type CallContext, type SenderInfo } from '../../../src-main/ipc/registry';
import { createServices, APP_ORIGIN, type Services } from '../../../src-main/services';

const sink = { id: 'test', send: () => {}, isAlive: () => true };
const trusted: SenderInfo = { transport: 'electron', origin: APP_ORIGIN, isMainFrame: true, authenticated: false };
const ctx = (sender: SenderInfo = trusted): CallContext => ({ sink, sender });

describe('the one IPC registry', () => {
  let services: Services;
  beforeAll(async () => {
    services = await createServices({ mode: 'test', dataDir: mkdtempSync(path.join(os.tmpdir(), 'healthgpt-reg-')) });
  });
  afterAll(async () => {
    await services?.close();
  });

  it('serves exactly the channels of the contracts: no handler without a schema, no schema without a handler', () => {
    expect([...services.registry.channels()].sort()).toEqual([...allOperationChannels()].sort());
    for (const [domain, contract] of Object.entries(contracts) as Array<[string, DomainContract]>) {
      for (const [name, spec] of Object.entries(contract)) {
        expect(spec.channel.startsWith(`${domain}:`), `${domain}.${name} channel ${spec.channel} is prefixed by its domain`).toBe(true);
        expect(spec.request).toBeInstanceOf(z.ZodType);
        expect(spec.response).toBeInstanceOf(z.ZodType);
        expect(services.registry.describe(spec.channel)?.operation).toBe(name);
      }
    }
  });

  it('refuses a registry whose handler table lacks an operation', () => {
    const handlers = { app: { getInfo: () => ({}) } } as unknown as ConstructorParameters<typeof IpcRegistry>[0];
    expect(() => new IpcRegistry(handlers, () => true)).toThrow(/no handler/);
  });

  it('answers every malformed, wrong-typed and oversized payload on every channel with a clear error envelope', async () => {
    let checked = 0;
    for (const channel of services.registry.channels()) {
      const spec = services.registry.describe(channel)!.spec;
      for (const payload of abusivePayloads(spec.request)) {
        if (spec.request.safeParse(payload).success) continue; // a valid request is not abuse
        const result = await services.registry.dispatch(channel, payload, ctx());
        expect(result.ok, `${channel} accepted an invalid payload`).toBe(false);
        if (!result.ok) {
          expect(result.error.code).toBe('BAD_REQUEST');
          expect(result.error.message).toContain(channel);
          expect(result.error.message.length).toBeLessThanOrEqual(4000);
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(20);
    // The service is still up and answering.
    const info = await services.registry.dispatch('app:get-info', {}, ctx());
    expect(info.ok).toBe(true);
  });

  it('answers unknown and malformed channel names with UNKNOWN_CHANNEL', async () => {
    for (const channel of ['nope:nothing', '', 42, null, {}, 'app:get-info'.repeat(20), '__proto__', 'constructor']) {
      const result = await services.registry.dispatch(channel, {}, ctx());
      expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    }
  });

  it('refuses senders other than our own main frame (or an authenticated bridge)', async () => {
    const refused: SenderInfo[] = [
      { transport: 'electron', origin: 'https://evil.example', isMainFrame: true, authenticated: false },
      { transport: 'electron', origin: APP_ORIGIN, isMainFrame: false, authenticated: false },
      { transport: 'electron', origin: null, isMainFrame: true, authenticated: false },
      { transport: 'bridge', origin: 'http://127.0.0.1:1', isMainFrame: true, authenticated: false },
    ];
    for (const sender of refused) {
      expect(await services.registry.dispatch('app:get-info', {}, ctx(sender))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
    }
  });

  it('turns a throwing handler and an out-of-contract response into error envelopes', async () => {
    const policy = workstationSenderPolicy(APP_ORIGIN);
    // Every operation gets a handler returning nothing valid; two are replaced by the faults under test.
    const handlers: Record<string, Record<string, () => unknown>> = {};
    for (const [domain, contract] of Object.entries(contracts) as Array<[string, DomainContract]>) {
      handlers[domain] = Object.fromEntries(Object.keys(contract).map((op) => [op, () => ({ wrong: true })]));
    }
    handlers.app!.ping = () => {
      throw new Error('boom');
    };
    const registry = new IpcRegistry(handlers as unknown as ConstructorParameters<typeof IpcRegistry>[0], policy, { warn: () => {}, error: () => {} });
    expect(await registry.dispatch('app:ping', { sentAt: 1 }, ctx())).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: expect.stringContaining('boom') } });
    expect(await registry.dispatch('app:echo-frame', { rows: 1, columns: 1, pixels: new Int16Array(1) }, ctx())).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });
});
