/**
 * A file named on the command line → the model's input. DICOM goes through the one mapping
 * (model-input.ts) with the pack's window for the task, exactly as a series in the window does; a PNG is
 * taken as it is.
 */
import { readFileSync } from 'node:fs';
import type { TaskSpec } from '../../src-shared/contracts/model-pack';
import { DomainError } from '../../src-shared/ipc/envelope';
import { fileErrorText } from '../fs/file-errors';
import { decodeDicomBytes, looksLikeDicom } from '../dicom/decode-file';
import type { InstanceMeta } from '../dicom/parse';
import { imageFromPng } from './model-image';
import { frameToModelInput, inputWindowFor } from './model-input';
import { modelErrorCodes, type ModelImage } from './runtime';

export interface WindowChoice {
  center: number;
  width: number;
}

export interface FileInputOptions {
  /** 0-based frame of a multi-frame DICOM (default: the middle one). */
  frame?: number;
  /** An explicit window (CLI --window) instead of the pack's. */
  window?: WindowChoice;
}

/** PNG or DICOM by content (DICOM: "DICM" at 128, or a .dcm name); `dicom` is the file's header, null for a PNG. */
export async function readModelInput(file: string, spec: Pick<TaskSpec, 'inputWindow'> | undefined, opts: FileInputOptions = {}): Promise<{ image: ModelImage; dicom: InstanceMeta | null; window: { lo: number; hi: number } | null }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A folder given where one image is read: said in words, with what to give instead.
    if (code === 'EISDIR') throw new DomainError(modelErrorCodes.badInput, `${file} is a folder; this reads one image file: give a DICOM or PNG file (for a whole series, \`healthgpt generate --in <folder>\`).`);
    throw new DomainError(modelErrorCodes.badInput, fileErrorText(e, file));
  }
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (isPng) return { image: imageFromPng(bytes), dicom: null, window: null };
  if (!looksLikeDicom(bytes, file)) throw new DomainError(modelErrorCodes.badInput, `${file} is neither a PNG nor a DICOM file`);
  const { frame, meta } = await decodeDicomBytes(bytes, opts.frame);
  const { image, window } = frameToModelInput(frame, opts.window ?? inputWindowFor(spec, meta.modality));
  return { image, dicom: meta, window: frame.color ? null : { lo: window.lo, hi: window.hi } };
}
