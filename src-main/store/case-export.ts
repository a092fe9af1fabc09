import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Zip, type ZipInputFile } from 'fflate';
import { historyErrorCodes, type CaseDetail, type ExportResult } from '../../src-shared/contracts/history';
import { commonErrorCodes, DomainError } from '../../src-shared/ipc/envelope';
import { isDiskFull } from '../fs/disk-full';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../fs/private-files';
import type { ArtifactStore } from './artifact-store';

export interface ExportHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

function abortError(): Error {
  return new DOMException('The operation was cancelled.', 'AbortError');
}

const deflateRawAsync = promisify(zlib.deflateRaw);

let crcTable: Uint32Array | null = null;
/** CRC-32 for zip entries: node:zlib's (Node >= 20.15, native) or a table-driven fallback. */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = (crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

function extensionFor(mediaType: string): string {
  const known: Record<string, string> = {
    'image/png': '.png',
    'image/jpeg': '.jpg',
    'application/dicom': '.dcm',
    'application/json': '.json',
    'text/plain': '.txt',
    'application/octet-stream': '.bin',
  };
  return known[mediaType] ?? '.bin';
}

/**
 * A zip of the case: case.json (everything recorded, artifact statuses verified), artifacts/<sha256>.<ext>
 * for every artifact that passes its hash check, and manifest.json with the sha256 and size of every
 * entry. Written to a temporary file, synced, then linked to the destination, which must not exist.
 */
export async function writeCaseExport(
  input: { caseId: string; detail: CaseDetail; artifactStore: ArtifactStore; exportedBy: string; schemaVersion: number | null },
  destination: string,
  hooks: ExportHooks = {},
): Promise<{ result: ExportResult; entries: number }> {
const { caseId, detail } = input;
  const dest = path.resolve(destination);
  await fsp.mkdir(path.dirname(dest), { recursive: true, mode: PRIVATE_DIR_MODE });
  const tmp = `${dest}.partial-${process.pid}-${Date.now()}`;
  const fh = await fsp.open(tmp, 'wx', PRIVATE_FILE_MODE); // the case's patient data: this user only
  const zipHash = createHash('sha256');
  let written = 0;
  const chunks: Uint8Array[] = [];
  let zipError: Error | null = null;
  const zip = new Zip((e, data) => {
    if (e) zipError = e;
    else chunks.push(data);
  });
  const flush = async () => {
    if (zipError) throw zipError;
    for (const c of chunks.splice(0)) {
      zipHash.update(c);
      let off = 0;
      while (off < c.byteLength) off += (await fh.write(c, off, c.byteLength - off)).bytesWritten;
      written += c.byteLength;
    }
  };
  const entries: Array<{ path: string; sha256: string; size: number }> = [];
  /**
   * Deflate runs in libuv's thread pool (node:zlib), never on the event loop; fflate only frames the
   * zip. `knownHash`: an artifact's bytes were just verified against their name, no need to hash again.
   */
  const add = async (name: string, bytes: Uint8Array<ArrayBuffer>, level: 0 | 1 | 6, knownHash?: string) => {
    const data = level === 0 ? bytes : await deflateRawAsync(bytes, { level });
    const file: ZipInputFile = { filename: name, size: bytes.byteLength, crc: crc32(bytes), compression: level === 0 ? 0 : 8 };
    zip.add(file);
    file.ondata?.(null, data, true);
    await flush();
    entries.push({ path: name, sha256: knownHash ?? createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
  };
  try {
    const artifacts = new Map<string, { mediaType: string; name: string }>();
    for (const r of detail.runs) for (const o of r.outputs) for (const a of o.artifacts) if (a.status === 'ok') artifacts.set(a.hash, a);
    let done = 0;
    const total = artifacts.size + 2;
    const problems = [...detail.problems];
    for (const [hash, a] of artifacts) {
      if (hooks.signal?.aborted) throw abortError();
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await input.artifactStore.read(hash);
      } catch (e) {
        if (e instanceof DomainError) {
          problems.push({ hash, status: e.code === historyErrorCodes.artifactMissing ? 'missing' : 'corrupt', message: e.message });
          continue;
        }
        throw e;
      }
      // PNG/JPEG are compressed already: stored as they are; DICOM and the rest get fast deflate.
      await add(`artifacts/${hash}${extensionFor(a.mediaType)}`, bytes, /^image\/(png|jpeg)$/.test(a.mediaType) ? 0 : 1, hash);
      hooks.progress?.((done += 1), total, a.name);
    }
    const enc = new TextEncoder();
    await add('case.json', enc.encode(JSON.stringify({ format: 'healthgpt-case/1', ...detail, problems }, null, 2)), 6);
    const manifest = {
      format: 'healthgpt-case-export/1',
      caseId,
      exportedAt: new Date().toISOString(),
      exportedBy: input.exportedBy,
      schemaVersion: input.schemaVersion,
      entries,
      problems,
    };
    await add('manifest.json', enc.encode(JSON.stringify(manifest, null, 2)), 6);
    zip.end();
    await flush();
    await fh.sync();
    await fh.close();
    // A link fails atomically on an existing name: an export never replaces a file.
    await fsp.link(tmp, dest);
    await fsp.rm(tmp, { force: true });
    hooks.progress?.(total, total);
    return { result: { path: dest, bytes: written, artifacts: entries.length - 2, sha256: zipHash.digest('hex'), problems }, entries: entries.length };
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    if (isDiskFull(e)) throw new DomainError(historyErrorCodes.diskFull, `The disk holding ${path.dirname(dest)} is full: the export was not written.`);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DomainError(commonErrorCodes.badRequest, `${dest} already exists and is never replaced: the export was not written.`);
    throw e;
  }
}
