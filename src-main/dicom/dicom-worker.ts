/**
 * The DICOM worker thread: file parsing for imports, frame decoding for the viewer and the probe, off the
 * main event loop. One request at a time; the client (worker-client.ts) restarts it on a hang.
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { dicomDirReferencedFiles } from './dicomdir';
import { CodecNotLoadedError, ensureCodec } from './codecs';
import { DicomFileError, MAX_DICOM_BYTES, parseDicomBytes, type ParsedFile } from './parse';
import { isPlainImageFile, probePlainImage, readPlainImageBytes, wrapPlainImageFile } from './plain-image/plain-image-import';
import { decodeFrame } from './pixels';
import { probeBytes, problemOf } from './probe';
import { frameRange, HEADER_PREFIX_BYTES, parseDicomHeader, singleFrameView } from './parse-header';
import { readDicomFile, readDicomPrefix, readDicomRange } from './read-file';
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

/** Largest file this worker reads whole (set by the client that started it). */
const maxFileBytes = (workerData as { maxFileBytes?: number } | null)?.maxFileBytes;

/**
 * A small cache of parsed files so scrolling through a multi-frame file does not re-read it; bounded in
 * bytes too, so a few big files never pile up (the newest file is kept whatever its size).
 */
const cache = new Map<string, { parsed: ParsedFile; mtimeMs: number }>();
const CACHE_FILES = 8;
const CACHE_BYTES = 512 * 1024 * 1024;

function cachedBytes(): number {
  let total = 0;
  for (const { parsed } of cache.values()) total += parsed.dataSet.byteArray.length;
  return total;
}

function readParsed(path: string): ParsedFile {
  let mtimeMs = 0;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    throw new DicomFileError('unreadable', `The file is no longer readable: ${(e as Error).message}`);
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.parsed;
  cache.delete(path);
  const parsed = parseDicomBytes(readDicomFile(path, { maxBytes: maxFileBytes }));
  cache.set(path, { parsed, mtimeMs });
  while (cache.size > 1 && (cache.size > CACHE_FILES || cachedBytes() > CACHE_BYTES)) cache.delete(cache.keys().next().value as string);
  return parsed;
}

/** Files at least this big are decoded frame by frame from disk (header cached), never read whole. */
const FRAME_READ_FILE_BYTES = 32 * 1024 * 1024;
const headers = new Map<string, { header: ParsedFile; mtimeMs: number; size: number }>();
const HEADER_FILES = 16;

/** The decodable file for one frame: a one-frame view read from disk for big plain files, else the whole file. */
function readForFrame(path: string, frame: number): { parsed: ParsedFile; frame: number; meta: ParsedFile['meta'] } {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new DicomFileError('unreadable', `The file is no longer readable: ${(e as Error).message}`);
  }
  if (st.size >= FRAME_READ_FILE_BYTES) {
    let hit = headers.get(path);
    if (!hit || hit.mtimeMs !== st.mtimeMs || hit.size !== st.size) {
      headers.delete(path);
      const { result } = readDicomPrefix(path, { maxBytes: maxFileBytes }, HEADER_PREFIX_BYTES, parseDicomHeader);
      hit = result ? { header: result, mtimeMs: st.mtimeMs, size: st.size } : undefined;
      if (hit) headers.set(path, hit);
      while (headers.size > HEADER_FILES) headers.delete(headers.keys().next().value as string);
    }
    if (hit) {
      if (!Number.isInteger(frame) || frame < 0 || frame >= hit.header.meta.frames) {
        throw new DicomFileError('decode-failed', `Frame ${frame + 1} asked for; the file has ${hit.header.meta.frames}.`);
      }
      const range = frameRange(hit.header, frame);
      const view = singleFrameView(hit.header, frame, readDicomRange(path, range.position, range.length, { maxBytes: maxFileBytes }));
      return { parsed: view, frame: 0, meta: hit.header.meta };
    }
  }
  const parsed = readParsed(path);
  return { parsed, frame, meta: parsed.meta };
}

export function scanFile(path: string, noFollow = false): ScanResult {
  try {
    // Headers only for plain files (parse-header.ts); not DICOM by its first bytes, or over the size
    // cap: said without reading the whole file.
    const { result: header, head, size } = readDicomPrefix(path, { maxBytes: maxFileBytes, noFollow, checkHead: true }, HEADER_PREFIX_BYTES, parseDicomHeader);
    if (header) {
      if (!header.meta.seriesUid) header.meta.seriesUid = `no-series-uid:${path}`;
      if (!header.meta.sopInstanceUid) header.meta.sopInstanceUid = `no-sop-uid:${path}`;
      return { path, status: 'ok', meta: header.meta };
    }
    const bytes = head.length === size ? head : readDicomFile(path, { maxBytes: maxFileBytes, noFollow, checkHead: true });
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

/** A PNG, JPEG or TIFF found by an import: wrapped as secondary capture under `outDir`, or why not. */
function scanPlainImage(path: string, outDir: string, noFollow: boolean): ScanResult {
  try {
    const wrapped = wrapPlainImageFile(path, outDir, { noFollow, maxBytes: maxFileBytes });
    return { path, status: 'ok', meta: wrapped.meta, storedPath: wrapped.storedPath, note: wrapped.note };
  } catch (e) {
    if (e instanceof CodecNotLoadedError) throw e;
    const { problem, error } = problemOf(e);
    return { path, status: 'error', problem, message: error };
  }
}

async function handle(req: WorkerRequest): Promise<{ response: WorkerResponse; transfer: ArrayBuffer[] }> {
  switch (req.type) {
    case 'scan': {
      let result = await withCodecs(() => scanFile(req.path, req.noFollow === true));
      const plainDir = req.plainImageDir;
      if (plainDir && result.status === 'error' && result.problem === 'not-dicom' && isPlainImageFile(req.path, req.noFollow === true)) {
        result = await withCodecs(() => scanPlainImage(req.path, plainDir, req.noFollow === true));
      }
      return { response: { id: req.id, type: 'scan', result }, transfer: [] };
    }
    case 'probe': {
      let bytes: Uint8Array;
      try {
        if (isPlainImageFile(req.path)) {
          const plain = readPlainImageBytes(req.path, false, maxFileBytes ?? MAX_DICOM_BYTES);
          return { response: { id: req.id, type: 'probe', entry: await withCodecs(() => probePlainImage(req.path, plain)) }, transfer: [] };
        }
        bytes = readDicomFile(req.path, { maxBytes: maxFileBytes });
      } catch (e) {
        const { problem, error } = problemOf(e);
        return { response: { id: req.id, type: 'error', problem, message: error }, transfer: [] };
      }
      return { response: { id: req.id, type: 'probe', entry: await withCodecs(() => probeBytes(req.path, bytes)) }, transfer: [] };
    }
    case 'probe-bytes':
      return { response: { id: req.id, type: 'probe', entry: await withCodecs(() => probeBytes(req.name, req.bytes)) }, transfer: [] };
    case 'decode': {
      try {
        const { parsed, frame: frameInFile, meta } = readForFrame(req.path, req.frame);
        const frame = await withCodecs(() => decodeFrame(parsed, frameInFile));
        const pixels = frame.pixels;
        // The pixels may view the file's bytes: copy to an owned buffer that can be transferred.
        const owned = pixels.byteOffset === 0 && pixels.buffer.byteLength === pixels.byteLength && pixels.buffer instanceof ArrayBuffer ? pixels : pixels.slice();
        return {
          response: { id: req.id, type: 'decode', frame: { meta, pixels: owned, color: frame.color, modalityApplied: frame.modalityApplied, min: frame.min, max: frame.max } },
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
