/**
 * multipart/related (RFC 2046 §5.1) for DICOMweb: a streaming reader, so each instance of a WADO-RS
 * series response can be stored as soon as its part has arrived, and a writer for STOW-RS.
 */
import { randomBytes } from 'node:crypto';

export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

export class MultipartError extends Error {
  override name = 'MultipartError';
}

/** The boundary parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string | null): string | null {
  if (!contentType || !/^multipart\//i.test(contentType.trim())) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * Yields each part of a multipart body as it completes. A part larger than maxPartBytes, headers
 * without an end, or a stream that ends before the closing delimiter throw MultipartError (the parts
 * already yielded were whole).
 */
export async function* readMultipart(stream: AsyncIterable<Uint8Array>, boundary: string, maxPartBytes: number): AsyncGenerator<MultipartPart> {
  // A CRLF in front makes the first delimiter look like every other one.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble';
  let headers: Record<string, string> = {};
  let searchFrom = 0;
  const iterator = stream[Symbol.asyncIterator]();
  let ended = false;
  // `buf` is a view of a reusable store that grows by doubling: appending a chunk copies only that chunk
  // (concatenating per chunk would copy a large part over and over).
  let store = Buffer.allocUnsafe(1 << 20);
  store.write('\r\n', 0, 'latin1');
  let buf: Buffer = store.subarray(0, 2);
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      return false;
    }
    const chunk = next.value;
    const needed = buf.length + chunk.length;
    if (buf.byteOffset - store.byteOffset + needed > store.length) {
      const grown = needed > store.length ? Buffer.allocUnsafe(Math.max(needed, store.length * 2)) : store;
      buf.copy(grown, 0); // copy handles the overlap when compacting within the same store
      store = grown;
      buf = store.subarray(0, buf.length);
    }
    const at = buf.byteOffset - store.byteOffset;
    store.set(chunk, at + buf.length);
    buf = store.subarray(at, at + needed);
    return true;
  };
  while (state !== 'done') {
    if (state === 'preamble' || state === 'body') {
      const at = buf.indexOf(delimiter, searchFrom);
      if (at < 0) {
        if (state === 'body' && buf.length > maxPartBytes) throw new MultipartError(`a part is larger than ${maxPartBytes} bytes`);
        searchFrom = Math.max(0, buf.length - delimiter.length + 1);
        if (!(await more())) throw new MultipartError('the response ended in the middle of a part');
        continue;
      }
      if (state === 'body') yield { headers, body: Buffer.from(buf.subarray(0, at)) };
      buf = buf.subarray(at + delimiter.length);
      searchFrom = 0;
      state = 'after-delimiter';
      continue;
    }
    if (state === 'after-delimiter') {
      const lineEnd = buf.indexOf('\r\n');
      if (lineEnd < 0) {
        if (buf.length >= 2 && buf.subarray(0, 2).toString('latin1') === '--') state = 'done';
        else if (buf.length > 1024) throw new MultipartError('a delimiter line without an end');
        else if (!(await more())) {
          if (buf.subarray(0, 2).toString('latin1') === '--') state = 'done';
          else throw new MultipartError('the response ended after a delimiter');
        }
        continue;
      }
      const rest = buf.subarray(0, lineEnd).toString('latin1');
      if (rest.startsWith('--')) {
        state = 'done';
        continue;
      }
      buf = buf.subarray(lineEnd + 2);
      state = 'headers';
      continue;
    }
    // headers: up to an empty line (a part with no headers starts with the empty line itself)
    if (buf.length >= 2 && buf[0] === 13 && buf[1] === 10) {
      headers = {};
      buf = buf.subarray(2);
      state = 'body';
      continue;
    }
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > 16 * 1024) throw new MultipartError('part headers without an end');
      if (!(await more())) throw new MultipartError('the response ended inside part headers');
      continue;
    }
    headers = parseHeaders(buf.subarray(0, end).toString('latin1'));
    buf = buf.subarray(end + 4);
    state = 'body';
  }
  await iterator.return?.();
}

/** A multipart/related body of DICOM files for STOW-RS, and its Content-Type. */
export function writeMultipart(parts: Uint8Array[], type = 'application/dicom'): { body: Buffer; contentType: string } {
  const boundary = `healthgpt-${randomBytes(16).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`, 'latin1'), Buffer.from(p.buffer, p.byteOffset, p.byteLength), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
