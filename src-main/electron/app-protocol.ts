import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { contentSecurityPolicy } from '../app/content-security-policy';
import { RENDERER_MIME_TYPES } from '../app/mime-types';

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

export type AppRequestTarget = { status: 200; file: string; contentType: string } | { status: 403 | 404; reason: string };

/**
 * Maps an app:// URL to a file inside the renderer folder. Anything else (another host, a path escaping
 * the folder, an unknown file) is refused; there is no fallback to the network or the rest of the disk.
 */
export function resolveAppRequest(requestUrl: string, rendererDir: string): AppRequestTarget {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { status: 404, reason: 'malformed URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { status: 403, reason: `not ${APP_SCHEME}://${APP_HOST}` };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { status: 404, reason: 'malformed path' };
  }
  if (pathname.includes('\0')) return { status: 404, reason: 'malformed path' };
  const rel = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, rel);
  if (!file.startsWith(root + path.sep)) return { status: 403, reason: 'outside the renderer folder' };
  return { status: 200, file, contentType: RENDERER_MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
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
