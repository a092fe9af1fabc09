import type { PreloadApi } from '../../src-shared/ipc/preload-api';
import type { ChannelTable } from './channel-table';

export type { ChannelTable };

/** The two ipcRenderer calls the preload needs, passed in so the builder stays free of Electron. */
export interface RendererIpc {
  invoke(channel: string, payload: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): void;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): void;
}

/**
 * Builds what `window.healthgpt` exposes: one named function per contract operation, each bound to its
 * own channel, and `subscribe` for the allowlisted event channels only. The renderer never receives
 * ipcRenderer or an IPC event object (whose `sender` would be ipcRenderer), only payloads.
 */
export function buildPreloadApi(ipc: RendererIpc, table: ChannelTable): PreloadApi {
  const api: Record<string, unknown> = {};
  for (const [domain, operations] of Object.entries(table.operations)) {
    const ops: Record<string, (request: unknown) => Promise<unknown>> = {};
    for (const [name, channel] of Object.entries(operations)) {
      ops[name] = (request: unknown) => ipc.invoke(channel, request);
    }
    api[domain] = Object.freeze(ops);
  }
  const allowedEvents = new Set(table.events);
  api.subscribe = (eventChannel: string, listener: (payload: unknown) => void): (() => void) => {
    if (typeof eventChannel !== 'string' || !allowedEvents.has(eventChannel)) {
      throw new Error(`"${String(eventChannel).slice(0, 64)}" is not an event channel of the workstation.`);
    }
    if (typeof listener !== 'function') throw new Error('subscribe needs a listener function.');
    const wrapped = (_event: unknown, payload: unknown) => listener(payload);
    ipc.on(eventChannel, wrapped);
    return () => ipc.removeListener(eventChannel, wrapped);
  };
  return Object.freeze(api) as unknown as PreloadApi;
}
