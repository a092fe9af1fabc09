/**
 * The DICOM worker thread: file parsing for imports, frame decoding for the viewer and the probe, off the
 * main event loop. One request at a time; the client (worker-client.ts) restarts it on a hang.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { dicomDirReferencedFiles } from './dicomdir';
import { CodecNotLoadedError, ensureCodec } from './codecs';
import { DicomFileError, mayBeDicom, parseDicomBytes, type ParsedFile } from './parse';
import { decodeFrame } from './pixels';
import { probeBytes, problemOf } from './probe';
import type { ScanResult, WorkerRequest, WorkerResponse } from './worker-protocol';

/**
 * Runs work that may need a WASM codec; a codec is loaded the first time a file needs it (uncompressed
 * imports never pay for them), then the work runs again.
 */
async function withCodecs<T>(work: () => T): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return work();
    } catch (e) {
      if (!(e instanceof CodecNotLoadedError) || attempt > 4) throw e;
      await ensureCodec(e.codec);
    }
  }
}

/** A small cache of parsed files so scrolling through a multi-frame file does not re-read it. */
const cache = new Map<string, { parsed: ParsedFile; mtimeMs: number }>();
const CACHE_FILES = 8;

function readParsed(path: string): ParsedFile {
  let mtimeMs = 0;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    throw new DicomFileError('unreadable', `The file is no longer readable: ${(e as Error).message}`);
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.parsed;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DicomFileError('unreadable', `Cannot read the file: ${(e as Error).message}`);
  }
  const parsed = parseDicomBytes(bytes);
  cache.set(path, { parsed, mtimeMs });
  if (cache.size > CACHE_FILES) cache.delete(cache.keys().next().value as string);
  return parsed;
}

/** The first 132 bytes of a file (fewer when it is shorter). */
function readHead(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(132);
    const n = readSync(fd, head, 0, 132, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function scanFile(path: string): ScanResult {
  try {
    let bytes: Uint8Array;
    try {
      const head = readHead(path);
      // Not DICOM by its first bytes: say so without reading a possibly huge file.
      if (head.length > 0 && !mayBeDicom(head)) return { path, status: 'error', problem: 'not-dicom', message: "Not a DICOM file: no 'DICM' marker at byte 128 and no DICOM data set at the start." };
      bytes = readFileSync(path);
    } catch (e) {
      return { path, status: 'error', problem: 'unreadable', message: `Cannot read the file: ${(e as Error).message}` };
    }
    const parsed = parseDicomBytes(bytes);
    if (parsed.isDicomDir) {
      const refs = dicomDirReferencedFiles(parsed.dataSet, path);
      const refusedNote = refs.refused.length ? ` (${refs.refused.length} entr${refs.refused.length === 1 ? 'y' : 'ies'} refused)` : '';
      return {
        path,
        status: 'skipped',
        problem: 'no-pixel-data',
        message: `DICOMDIR listing ${refs.files.length + refs.refused.length} file(s)${refusedNote}; those are imported instead.`,
        referencedFiles: refs.files,
        refusedReferences: refs.refused,
      };
    }
    if (!parsed.meta.hasPixels) {
      return { path, status: 'skipped', problem: 'no-pixel-data', message: `Valid DICOM without pixel data (${parsed.meta.modality || 'no modality'}): not an image.` };
    }
    // Decoding the last frame checks the pixel data length (native) or that the codec accepts it.
    decodeFrame(parsed, parsed.meta.frames - 1);
    if (!parsed.meta.seriesUid) parsed.meta.seriesUid = `no-series-uid:${path}`;
    if (!parsed.meta.sopInstanceUid) parsed.meta.sopInstanceUid = `no-sop-uid:${path}`;
    return { path, status: 'ok', meta: parsed.meta };
  } catch (e) {
    if (e instanceof CodecNotLoadedError) throw e;
    const { problem, error } = problemOf(e);
    return { path, status: 'error', problem, message: error };
  }
}

async function handle(req: WorkerRequest): Promise<{ response: WorkerResponse; transfer: ArrayBuffer[] }> {
  switch (req.type) {
    case 'scan':
      return { response: { id: req.id, type: 'scan', result: await withCodecs(() => scanFile(req.path)) }, transfer: [] };
    case 'probe': {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(req.path);
      } catch (e) {
        return { response: { id: req.id, type: 'error', problem: 'unreadable', message: `Cannot read the file: ${(e as Error).message}` }, transfer: [] };
      }
      return { response: { id: req.id, type: 'probe', entry: await withCodecs(() => probeBytes(req.path, bytes)) }, transfer: [] };
    }
    case 'probe-bytes':
      return { response: { id: req.id, type: 'probe', entry: await withCodecs(() => probeBytes(req.name, req.bytes)) }, transfer: [] };
    case 'decode': {
      try {
        const parsed = readParsed(req.path);
        const frame = await withCodecs(() => decodeFrame(parsed, req.frame));
        const pixels = frame.pixels;
        // The pixels may view the file's bytes: copy to an owned buffer that can be transferred.
        const owned = pixels.byteOffset === 0 && pixels.buffer.byteLength === pixels.byteLength && pixels.buffer instanceof ArrayBuffer ? pixels : pixels.slice();
        return {
          response: { id: req.id, type: 'decode', frame: { meta: parsed.meta, pixels: owned, color: frame.color, modalityApplied: frame.modalityApplied, min: frame.min, max: frame.max } },
          transfer: [owned.buffer as ArrayBuffer],
        };
      } catch (e) {
        const { problem, error } = problemOf(e);
        return { response: { id: req.id, type: 'error', problem, message: error }, transfer: [] };
      }
    }
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: WorkerRequest) => {
    void handle(req).then(
      ({ response, transfer }) => port.postMessage(response, transfer),
      (e: unknown) => port.postMessage({ id: req.id, type: 'error', problem: 'unreadable', message: String(e) } satisfies WorkerResponse),
    );
  });
}
