import type { SenderInfo } from '../ipc/registry';

/**
 * The origin of a frame URL. WHATWG URL gives "null" as the origin of non-special schemes, so the
 * app:// origin is rebuilt from scheme and host; file:, data:, about: and the like have no origin here.
 */
export function frameOrigin(frameUrl: string | null | undefined): string | null {
  if (!frameUrl) return null;
  try {
    const url = new URL(frameUrl);
    if (!url.host) return null;
    return `${url.protocol}//${url.host}`;
  } catch {
    return null;
  }
}

/** What the registry needs to know about an Electron IPC caller; the registry decides. */
export function electronSenderInfo(frame: { url: string } | null, mainFrame: unknown): SenderInfo {
  return {
    transport: 'electron',
    origin: frame ? frameOrigin(frame.url) : null,
    isMainFrame: frame !== null && frame === mainFrame,
    authenticated: false,
  };
}
