/**
 * Headers only: what an import needs from a file is everything before the pixel data plus where that
 * pixel data lies, so a 512² slice is read as a few KB instead of 0.5 MB, and a 1,000-frame object's
 * frames are read one at a time when shown. Only plain files take this path (Part 10 preamble,
 * uncompressed pixel data of defined length); anything else returns null and is read whole as before,
 * so every refusal and error message stays the full parser's.
 */
import type { DataSet, Element } from 'dicom-parser';
import { dicomParser } from './dicom-parser-lib';
import { hasPreamble, MAX_FRAMES, readMeta, type ParsedFile } from './parse';
import { checkImageAttributes, nativeFrameBytes } from './pixels';
import { TRANSFER_SYNTAXES } from './transfer-syntax';

// The package's types declare DataSet as an interface only; the bundle exports the class.
const DataSetClass = (dicomParser as unknown as { DataSet: new (parser: unknown, bytes: Uint8Array, elements: Record<string, Element>) => DataSet }).DataSet;

/** First read for a header: most single-frame headers fit; enhanced objects grow it (read-file.ts). */
export const HEADER_PREFIX_BYTES = 16 * 1024;

/**
 * The file parsed up to (not into) its pixel data, from a prefix of it, with the pixel data's size
 * checked against what the header declares and against the file's size. Null: the prefix is too short
 * (read more), or the file is not one this path handles (read it whole).
 */
export function parseDicomHeader(head: Uint8Array, fileSize: number): ParsedFile | null {
  if (!hasPreamble(head)) return null;
  let dataSet: DataSet;
  try {
    // The transfer syntax first: a deflated data set would be inflated from the prefix (a bomb's too).
    const fileMeta = dicomParser.readPart10Header(head);
    const syntax = TRANSFER_SYNTAXES.get((fileMeta.string('x00020010') ?? '').replace(/\0+$/, '').trim());
    if (!syntax || syntax.deflated || syntax.encoding !== 'native') return null;
    dataSet = dicomParser.parseDicom(head, { untilTag: 'x7fe00010' });
  } catch {
    return null;
  }
  const px = dataSet.elements.x7fe00010;
  if (!px || px.hadUndefinedLength || px.dataOffset > head.length) return null;
  if (dataSet.elements.x7fe00008 || dataSet.elements.x7fe00009) return null;
  let meta;
  try {
    meta = readMeta(dataSet);
    checkImageAttributes(meta);
  } catch {
    return null;
  }
  const ts = TRANSFER_SYNTAXES.get(meta.transferSyntax);
  if (!ts || ts.deflated || ts.encoding !== 'native') return null;
  // Bit-packed and palette images keep the full path (their checks read past the header).
  if (meta.bitsAllocated === 1 || meta.photometric === 'PALETTE COLOR' || meta.frames > MAX_FRAMES) return null;
  if (px.dataOffset + px.length > fileSize || px.length < nativeFrameBytes(meta) * meta.frames) return null;
  return { dataSet, meta, ts, pixelElement: px, isDicomDir: false };
}

/** Where frame `frame` of a header-parsed file lies in the file (byte offset and length). */
export function frameRange(header: ParsedFile, frame: number): { position: number; length: number } {
  const length = nativeFrameBytes(header.meta);
  return { position: (header.pixelElement?.dataOffset ?? 0) + frame * length, length };
}

/**
 * A one-frame file made of the header's bytes and one frame's pixel bytes, for decodeFrame(view, 0):
 * the decoder sees the same header elements, and only that frame's pixels were read from disk.
 */
export function singleFrameView(header: ParsedFile, frame: number, pixels: Uint8Array): ParsedFile {
  const px = header.pixelElement!;
  const bytes = new Uint8Array(px.dataOffset + pixels.length);
  bytes.set(header.dataSet.byteArray.subarray(0, px.dataOffset));
  bytes.set(pixels, px.dataOffset);
  const pixelElement: Element = { ...px, length: pixels.length };
  const elements = { ...header.dataSet.elements, x7fe00010: pixelElement };
  const dataSet = new DataSetClass(header.dataSet.byteArrayParser, bytes, elements);
  const meta = { ...header.meta, frames: 1, framePositions: [header.meta.framePositions[frame] ?? null] };
  return { dataSet, meta, ts: header.ts, pixelElement, isDicomDir: false };
}
