import { contracts } from '../../src-shared/contracts';
import { createWorkstationClient, type Transport, type WorkstationClient } from '../../src-shared/ipc/client-api';
import type { DomainContract } from '../../src-shared/ipc/define';
import type { PreloadApi } from '../../src-shared/ipc/preload-api';
import { connectBridge } from './bridge-transport';

declare global {
  interface Window {
    healthgpt?: PreloadApi;
  }
}

/** Maps each channel to the preload's named operation, so the typed client works over Electron IPC. */
function preloadTransport(api: PreloadApi): Transport {
  const byChannel = new Map<string, (request: unknown) => Promise<unknown>>();
  for (const [domain, contract] of Object.entries(contracts) as Array<[string, DomainContract]>) {
    const ops = (api as unknown as Record<string, Record<string, (request: unknown) => Promise<unknown>>>)[domain] ?? {};
    for (const [name, spec] of Object.entries(contract)) {
      const fn = ops[name];
      if (fn) byChannel.set(spec.channel, fn);
    }
  }
  return {
    name: 'electron',
    call: (channel, payload) => {
      const fn = byChannel.get(channel);
      return fn ? fn(payload) : Promise.reject(new Error(`the preload does not expose ${channel}`));
    },
    onEvent: (channel, listener) => api.subscribe(channel, listener),
  };
}

/**
 * Picks the transport: the Electron preload when present, else the loopback bridge named in the page's
 * fragment (browser mode). The rest of the renderer only ever sees the WorkstationClient.
 */
export async function connectWorkstation(): Promise<WorkstationClient> {
  if (window.healthgpt) return createWorkstationClient(preloadTransport(window.healthgpt));
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const url = params.get('bridge');
  const token = params.get('token');
  if (!url || !token) throw new Error('No workstation service: open this page from `npm run browser` (it prints the address with its token).');
  return createWorkstationClient(await connectBridge(url, token));
}
