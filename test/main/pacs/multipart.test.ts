import { describe, expect, it } from 'vitest';
import { boundaryOf, MultipartError, readMultipart, writeMultipart } from '../../../src-main/pacs/multipart';

/** Feeds a body in chunks of the given size, as a socket would. */
async function* chunked(body: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function parts(body: Buffer, boundary: string, chunk: number, max = 1 << 20): Promise<string[]> {
  const out: string[] = [];
  for await (const p of readMultipart(chunked(body, chunk), boundary, max)) out.push(p.body.toString('latin1'));
  return out;
}

describe('multipart/related', () => {
  const payloads = [Buffer.from('first\r\n--not-the-boundary'), Buffer.alloc(0), Buffer.from('x'.repeat(5000))];
  const { body, contentType } = writeMultipart(payloads);
  const boundary = boundaryOf(contentType)!;

  it('round-trips parts whatever the chunk size (1 byte to the whole body), including CRLF and near-boundary text in a part', async () => {
    expect(contentType).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    for (const chunk of [1, 3, 7, 64, 4096, body.length]) expect(await parts(body, boundary, chunk)).toEqual(payloads.map((p) => p.toString('latin1')));
  });

  it('reads quoted boundaries, a preamble and part headers', async () => {
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary="a b"')).toBe('a b');
    expect(boundaryOf('application/json')).toBeNull();
    const raw = Buffer.from('preamble\r\n--B\r\nContent-Type: application/dicom\r\nContent-Length: 3\r\n\r\nabc\r\n--B--\r\n');
    const got = [];
    for await (const p of readMultipart(chunked(raw, 5), 'B', 100)) got.push(p);
    expect(got.map((p) => [p.headers['content-type'], p.body.toString()])).toEqual([['application/dicom', 'abc']]);
  });

  it('a body cut off inside a part, or a part over the size limit, throws after the whole parts', async () => {
    const cut = body.subarray(0, body.length - 100);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const p of readMultipart(chunked(cut, 512), boundary, 1 << 20)) seen.push(p.body.length);
      })(),
    ).rejects.toThrow(MultipartError);
    expect(seen).toEqual([payloads[0]!.length, 0]);
    await expect(parts(body, boundary, 512, 1000)).rejects.toThrow(/larger than 1000 bytes/);
  });
});
