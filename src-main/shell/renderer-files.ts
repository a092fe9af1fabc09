import path from 'node:path';
import { RENDERER_MIME_TYPES } from './mime-types';

export type RendererFileTarget = { status: 200; file: string; contentType: string } | { status: 400 | 403 | 404; reason: string };

/**
 * Maps a URL path (still percent-encoded, as it arrives) to a file inside the renderer folder, for both the
 * Electron app:// handler and browser mode's static server. Never throws: a path that does not decode is a
 * 400 (one request must not be able to stop the server), one that escapes the folder a 403.
 */
export function rendererFileFor(encodedPathname: string, rendererDir: string): RendererFileTarget {
  let pathname: string;
  try {
    pathname = decodeURIComponent(encodedPathname);
  } catch {
    return { status: 400, reason: 'malformed path' };
  }
  if (pathname.includes('\0')) return { status: 400, reason: 'malformed path' };
  const rel = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^[/\\]+/, '');
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, rel);
  if (!file.startsWith(root + path.sep)) return { status: 403, reason: 'outside the renderer folder' };
  return { status: 200, file, contentType: RENDERER_MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
}
