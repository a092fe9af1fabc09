/** Full read and decode of one file for `healthgpt dicom probe` and the conformance tests. */
import { readFileSync } from 'node:fs';
import { fileErrorText } from '../fs/file-errors';
import type { ProbeEntry } from '../../src-shared/contracts/dicom';
import { CodecNotLoadedError, loadCodecs } from './codecs';
import { blankProbeEntry } from './dicom-frame';
import { DicomFileError, parseDicomBytes } from './parse';
import { decodeFrame, modalityValue } from './pixels';

export interface ProbeOptions {
  /** Keep the decoded values (after the modality LUT, all frames, pydicom's C order) for comparisons. */
  keepValues?: boolean;
}

export interface ProbeDetail extends ProbeEntry {
  values?: Float64Array;
}

function emptyEntry(path: string): ProbeDetail {
  return blankProbeEntry(path);
}

export function problemOf(e: unknown): { problem: NonNullable<ProbeEntry['problem']>; error: string } {
  if (e instanceof DicomFileError) return { problem: e.problem, error: e.message };
  return { problem: 'unreadable', error: `Unexpected error: ${e instanceof Error ? e.message : String(e)}` };
}

/** Probes bytes already in memory (the fuzz test mutates in memory). Codecs must be loaded. */
export function probeBytes(path: string, bytes: Uint8Array, options: ProbeOptions = {}): ProbeDetail {
  const entry = emptyEntry(path);
  try {
    const parsed = parseDicomBytes(bytes);
    const { meta } = parsed;
    entry.sopClassUid = meta.sopClassUid || null;
    entry.modality = meta.modality || null;
    entry.transferSyntax = meta.transferSyntax;
    entry.photometric = meta.hasPixels ? meta.photometric : null;
    entry.samplesPerPixel = meta.hasPixels ? meta.samplesPerPixel : null;
    entry.bitsAllocated = meta.hasPixels ? meta.bitsAllocated : null;
    entry.rows = meta.rows || null;
    entry.columns = meta.columns || null;
    entry.frames = meta.hasPixels ? meta.frames : null;
    entry.pixelSpacing = meta.pixelSpacing;
    if (!meta.hasPixels) {
      entry.ok = true;
      entry.problem = 'no-pixel-data';
      entry.error = parsed.isDicomDir ? 'DICOMDIR: a directory of other files, no pixel data.' : 'Valid DICOM without pixel data (not an image).';
      return entry;
    }
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let count = 0;
    const parts: Float64Array[] = [];
    for (let f = 0; f < meta.frames; f += 1) {
      const frame = decodeFrame(parsed, f);
      const n = frame.pixels.length;
      const values = options.keepValues ? new Float64Array(n) : null;
      for (let i = 0; i < n; i += 1) {
        const v = modalityValue(meta, frame, i);
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        if (values) values[i] = v;
      }
      count += n;
      if (values) parts.push(values);
    }
    if (count && !(Number.isFinite(min) && Number.isFinite(max) && Number.isFinite(sum))) {
      // An overflowing rescale (e.g. slope 1e308) gives values no statistic or JSON can hold.
      throw new DicomFileError(
        'decode-failed',
        `The pixel values after Rescale Slope ${meta.rescaleSlope} and Rescale Intercept ${meta.rescaleIntercept} are not finite numbers (they overflow): the rescale values in the header are wrong.`,
      );
    }
    entry.ok = true;
    entry.min = count ? min : null;
    entry.max = count ? max : null;
    entry.mean = count ? sum / count : null;
    if (options.keepValues) {
      const all = new Float64Array(count);
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      entry.values = all;
    }
  } catch (e) {
    if (e instanceof CodecNotLoadedError) throw e; // the caller loads the codec and probes again
    const { problem, error } = problemOf(e);
    entry.ok = false;
    entry.problem = problem;
    entry.error = error;
  }
  return entry;
}

export async function probeFile(path: string, options: ProbeOptions = {}): Promise<ProbeDetail> {
  await loadCodecs();
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return { ...emptyEntry(path), problem: 'unreadable', error: fileErrorText(e, path) };
  }
  return probeBytes(path, bytes, options);
}
