/**
 * Decodes one frame of DICOM file bytes in this thread, into the same Frame the decode worker gives the
 * viewer and the workflow (frameFromDecoded), for the CLI's single-file commands.
 */
import type { Frame } from '../../src-shared/contracts/dicom';
import { CodecNotLoadedError, ensureCodec } from './codecs';
import { frameFromDecoded } from './dicom-frame';
import { parseDicomBytes, type InstanceMeta } from './parse';
import { decodeFrame } from './pixels';

/** Whether bytes look like a DICOM file ("DICM" after the preamble) or the name says so. */
export function looksLikeDicom(bytes: Uint8Array, file: string): boolean {
  return (bytes.length > 132 && Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') === 'DICM') || /\.dcm$/i.test(file);
}

/** Frame `frame` (0-based; default the middle one) of a DICOM file's bytes, with the file's header. */
export async function decodeDicomBytes(bytes: Uint8Array, frame?: number): Promise<{ frame: Frame; meta: InstanceMeta }> {
  const parsed = parseDicomBytes(bytes);
  const meta = parsed.meta;
  const index = frame ?? Math.floor(meta.frames / 2);
  // A compressed file needs its codec loaded first (as in the worker), then the decode runs again.
  for (let attempt = 0; ; attempt += 1) {
    try {
      const d = decodeFrame(parsed, index);
      return { frame: frameFromDecoded(meta.seriesUid, index, { frame: index, count: meta.frames }, { meta, ...d }), meta };
    } catch (e) {
      if (!(e instanceof CodecNotLoadedError) || attempt > 4) throw e;
      await ensureCodec(e.codec);
    }
  }
}
