/**
 * An https request that trusts a given CA (a hospital's own) for one node only, answered as a fetch
 * Response so the DICOMweb client reads it like any other. Node's fetch takes no per-request CA without
 * an extra package; node:https does. Redirects are not followed (as with fetch's redirect: 'error', a 3xx
 * is not ok and becomes a clear error).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pacsErrorCodes } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';

const caCache = new Map<string, Buffer>();

/** The CA file's bytes (read once per file); a missing or unreadable file is a settings error. */
export function readCa(file: string, nodeName: string): Buffer {
  const cached = caCache.get(file);
  if (cached) return cached;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new DomainError(pacsErrorCodes.badSettings, `The CA file of PACS node "${nodeName}" cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${file}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new DomainError(pacsErrorCodes.badSettings, `The CA file of PACS node "${nodeName}" holds no PEM certificate: ${file}`);
  caCache.set(file, pem);
  return pem;
}

export function fetchWithCa(url: string, init: { method: string; headers: Record<string, string>; body?: Buffer; signal: AbortSignal }, ca: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: init.method, headers: init.headers, ca, signal: init.signal }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      const status = res.statusCode ?? 502;
      const body = [204, 205, 304].includes(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (!body) res.resume();
      resolve(new Response(body, { status: status < 200 ? 502 : status, headers }));
    });
    request.on('error', reject);
    request.end(init.body);
  });
}
