import { readFileSync } from 'node:fs';
import { parseDicomBytes } from '../dicom/parse';
import { decodeFrame, modalityValue } from '../dicom/pixels';
import { DomainError } from '../../src-shared/ipc/envelope';
import { imageFromGray8, readPngImage } from './model-image';
import { modelErrorCodes, type ModelImage } from './runtime';

export interface WindowChoice {
  center: number;
  width: number;
}

/**
 * One DICOM frame -> the model's 8-bit input. Grey images go through the chosen window (explicit, else
 * the file's first window preset, else the frame's min..max), linear as in DICOM PS3.3 C.11.2.1.2;
 * MONOCHROME1 is inverted. The window used is recorded in the result (`window`).
 */
export function dicomToModelImage(bytes: Uint8Array, opts: { frame?: number; window?: WindowChoice } = {}): ModelImage {
  const parsed = parseDicomBytes(bytes);
  const meta = parsed.meta;
  const frameIndex = opts.frame ?? Math.floor(meta.frames / 2);
  const frame = decodeFrame(parsed, frameIndex);
  const n = meta.rows * meta.columns;
  if (frame.color) {
    const data = new Uint8Array(n * 3);
    for (let i = 0; i < n * 3; i++) data[i] = Math.max(0, Math.min(255, Math.round(Number(frame.pixels[i] ?? 0))));
    return { rgb: { width: meta.columns, height: meta.rows, data }, pixelSpacing: meta.pixelSpacing, window: 'colour (no window)' };
  }
  const values = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = modalityValue(meta, frame, i);
    values[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let win: WindowChoice;
  let label: string;
  if (opts.window) {
    win = opts.window;
    label = `W ${win.width} / L ${win.center} (chosen)`;
  } else if (meta.windows[0]) {
    win = { center: meta.windows[0].center, width: meta.windows[0].width };
    label = `W ${win.width} / L ${win.center} (file preset${meta.windows[0].explanation ? `: ${meta.windows[0].explanation}` : ''})`;
  } else {
    win = { center: (lo + hi) / 2, width: Math.max(1, hi - lo) };
    label = `W ${win.width} / L ${win.center} (min-max)`;
  }
  const gray = new Uint8Array(n);
  const c = win.center - 0.5;
  const w = Math.max(1, win.width) - 1;
  const invert = meta.photometric === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    let y: number;
    if (x <= c - w / 2) y = 0;
    else if (x > c + w / 2) y = 255;
    else y = ((x - c) / w + 0.5) * 255;
    const g = Math.round(Math.max(0, Math.min(255, y)));
    gray[i] = invert ? 255 - g : g;
  }
  return imageFromGray8(gray, meta.rows, meta.columns, meta.pixelSpacing, label);
}

/** PNG or DICOM by content (DICOM: "DICM" at 128, or a .dcm name). */
export function readModelImage(file: string, opts: { frame?: number; window?: WindowChoice } = {}): ModelImage {
  const bytes = readFileSync(file);
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (isPng) return readPngImage(file);
  const isDicom = (bytes.length > 132 && bytes.toString('latin1', 128, 132) === 'DICM') || /\.dcm$/i.test(file);
  if (isDicom) return dicomToModelImage(bytes, opts);
  throw new DomainError(modelErrorCodes.badInput, `${file} is neither a PNG nor a DICOM file`);
}
