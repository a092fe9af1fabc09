import { readFile } from 'node:fs/promises';
import { contentSecurityPolicy } from '../shell/content-security-policy';
import { rendererFileFor, type RendererFileTarget } from '../shell/renderer-files';

/** The custom scheme the window loads from: app://healthgpt/ serves dist/renderer, nothing else. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'healthgpt';
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;


/** Headers on every app:// response: the strict CSP (no bridge: Electron talks over IPC) and no sniffing. */
export function appResponseHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  };
}

export type AppRequestTarget = RendererFileTarget;

/**
 * Maps an app:// URL to a file inside the renderer folder. Anything else (another host, a path escaping
 * the folder, an unknown file) is refused; there is no fallback to the network or the rest of the disk.
 */
export function resolveAppRequest(requestUrl: string, rendererDir: string): AppRequestTarget {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { status: 400, reason: 'malformed URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { status: 403, reason: `not ${APP_SCHEME}://${APP_HOST}` };
  return rendererFileFor(url.pathname, rendererDir);
}

/** Serves one app:// request as a fetch Response (what protocol.handle expects). */
export async function serveAppRequest(requestUrl: string, rendererDir: string): Promise<Response> {
  const target = resolveAppRequest(requestUrl, rendererDir);
  if (target.status !== 200) {
    return new Response(target.reason, { status: target.status, headers: appResponseHeaders('text/plain; charset=utf-8') });
  }
  try {
    const body = await readFile(target.file);
    return new Response(new Uint8Array(body), { status: 200, headers: appResponseHeaders(target.contentType) });
  } catch {
    return new Response('not found', { status: 404, headers: appResponseHeaders('text/plain; charset=utf-8') });
  }
}

/** Only our own pages may be navigated to; every other URL (http, file, data, another scheme) is refused. */
export function isAppUrl(candidate: string): boolean {
  try {
    const url = new URL(candidate);
    return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
  } catch {
    return false;
  }
}
