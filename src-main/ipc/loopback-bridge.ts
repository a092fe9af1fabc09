import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { commonErrorCodes } from '../../src-shared/ipc/envelope';
import { decodeFrame, encodeFrame, FrameError, MAX_FRAME_BYTES } from '../../src-shared/ipc/wire-codec';
import type { EventSink, IpcRegistry } from './registry';
import type { JobManager } from '../jobs/job-manager';

/**
 * The loopback bridge serves the same handler table as Electron IPC over a WebSocket on 127.0.0.1, so the
 * real renderer can run in a plain browser against the real main-process services (browser mode, tests).
 * A per-launch random token is required on connect. It is a development/test transport only: it refuses to
 * start inside Electron, and the packaged app never imports it.
 */
export function assertBridgeAllowed(versions: NodeJS.ProcessVersions = process.versions): void {
  if ('electron' in versions && versions.electron) {
    throw new Error('The loopback bridge is a development and test transport; it cannot run inside the Electron app.');
  }
}

export interface BridgeOptions {
  registry: IpcRegistry;
  jobs: JobManager;
  /** Attach to an existing HTTP server (browser mode serves the renderer on the same port). */
  server?: Server;
  /** Origins allowed to connect from a browser page, e.g. http://127.0.0.1:PORT. Empty: any loopback page. */
  allowedOrigins?: () => string[];
  token?: string;
  /** Largest frame accepted; a bigger one closes that connection (1009), never the service. */
  maxPayloadBytes?: number;
}

export interface LoopbackBridge {
  readonly port: number;
  readonly token: string;
  readonly url: string;
  connections(): number;
  close(): Promise<void>;
}

interface CallMessage {
  t: 'call';
  id: number;
  channel: unknown;
  payload: unknown;
}

function tokenMatches(expected: string, given: string | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startLoopbackBridge(options: BridgeOptions): Promise<LoopbackBridge> {
  assertBridgeAllowed();
  const token = options.token ?? randomBytes(24).toString('base64url');
  const maxPayload = Math.min(options.maxPayloadBytes ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES);
  const wss = options.server
    ? new WebSocketServer({ server: options.server, path: '/bridge', maxPayload })
    : new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/bridge', maxPayload });
  if (!options.server) await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = (options.server ?? wss).address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let nextSink = 0;

  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = req.headers.origin ?? null;
    const remote = req.socket.remoteAddress ?? '';
    const loopback = remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
    const allowed = options.allowedOrigins?.() ?? [];
    const originOk = origin === null || allowed.length === 0 || allowed.includes(origin);
    const authenticated = loopback && originOk && tokenMatches(token, url.searchParams.get('token'));
    if (!authenticated) {
      const reason = !loopback ? 'only loopback connections are served' : !originOk ? `origin ${origin} is not the workstation page` : 'the bridge token is missing or wrong';
      socket.send(
        encodeFrame({ t: 'fatal', error: { code: 'UNAUTHORIZED', message: `Connection refused: ${reason}.` } }),
        () => socket.close(4401, 'unauthorized'),
      );
      return;
    }
    const sink: EventSink = {
      id: `bridge-${(nextSink += 1)}`,
      send: (channel, payload) => socket.send(encodeFrame({ t: 'event', channel, payload })),
      isAlive: () => socket.readyState === socket.OPEN,
    };
    const sender = { transport: 'bridge' as const, origin, isMainFrame: true, authenticated: true };
    socket.on('message', (data, isBinary) => {
      void (async () => {
        let message: CallMessage;
        try {
          if (!isBinary) throw new FrameError('text frames are not part of the bridge protocol');
          const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
          const decoded = decodeFrame(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
          if (!decoded || typeof decoded !== 'object' || (decoded as CallMessage).t !== 'call' || typeof (decoded as CallMessage).id !== 'number') {
            throw new FrameError('expected {t:"call", id, channel, payload}');
          }
          message = decoded as CallMessage;
        } catch (e) {
          const messageText = e instanceof Error ? e.message : String(e);
          socket.send(encodeFrame({ t: 'result', id: null, result: { ok: false, error: { code: commonErrorCodes.badRequest, message: `Malformed bridge message: ${messageText}` } } }));
          return;
        }
        const result = await options.registry.dispatch(message.channel, message.payload, { sink, sender });
        if (socket.readyState === socket.OPEN) socket.send(encodeFrame({ t: 'result', id: message.id, result }));
      })();
    });
    socket.on('close', () => options.jobs.cancelAllFor(sink.id));
    socket.on('error', () => socket.terminate());
  });

  return {
    port,
    token,
    url: `ws://127.0.0.1:${port}/bridge`,
    connections: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
