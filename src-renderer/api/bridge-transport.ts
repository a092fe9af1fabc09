import { decodeFrame, encodeFrame } from '../../src-shared/ipc/wire-codec';
import type { Transport } from '../../src-shared/ipc/client-api';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The loopback-bridge transport for browser mode: a WebSocket to 127.0.0.1 with the launch token. */
export function connectBridge(url: string, token: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    socket.binaryType = 'arraybuffer';
    const pending = new Map<number, Pending>();
    const listeners = new Map<string, Set<(payload: unknown) => void>>();
    let nextId = 1;
    let fatal: string | null = null;
    socket.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      const msg = decodeFrame(new Uint8Array(ev.data)) as { t: string; id?: number; result?: unknown; channel?: string; payload?: unknown; error?: { message: string } };
      if (msg.t === 'result' && typeof msg.id === 'number') {
        pending.get(msg.id)?.resolve(msg.result);
        pending.delete(msg.id);
      } else if (msg.t === 'event' && msg.channel) {
        for (const l of listeners.get(msg.channel) ?? []) l(msg.payload);
      } else if (msg.t === 'fatal') {
        fatal = msg.error?.message ?? 'refused';
      }
    };
    socket.onclose = () => {
      const reason = fatal ?? 'the connection to the workstation service closed';
      for (const p of pending.values()) p.reject(new Error(reason));
      pending.clear();
      reject(new Error(reason));
    };
    socket.onopen = () =>
      resolve({
        name: 'bridge',
        call(channel, payload) {
          if (socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error(fatal ?? 'not connected'));
          const id = nextId++;
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res, reject: rej });
            socket.send(encodeFrame({ t: 'call', id, channel, payload }));
          });
        },
        onEvent(channel, listener) {
          const set = listeners.get(channel) ?? new Set();
          set.add(listener);
          listeners.set(channel, set);
          return () => set.delete(listener);
        },
      });
  });
}
