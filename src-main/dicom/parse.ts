/**
 * Reading one DICOM file: dicom-parser for the data set, then the metadata the importer, the viewer
 * and the probe need. Every failure becomes a DicomFileError with a FileProblem and a message a
 * person can act on; nothing else is thrown for bad input.
 */
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { dicomParser } from './dicom-parser-lib';
import type { DataSet, Element } from 'dicom-parser';
import type { FileProblem, WindowPreset } from '../../src-shared/contracts/dicom';
import { sliceNormal } from '../../src-shared/dicom/geometry';
import { TRANSFER_SYNTAXES, describeTransferSyntax, type TransferSyntaxInfo } from './transfer-syntax';

export class DicomFileError extends Error {
  override name = 'DicomFileError';
  constructor(
    readonly problem: FileProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Largest file read whole, and largest inflated data set: memory per file stays bounded. */
export const MAX_DICOM_BYTES = 1_000_000_000;
/** Room for all but the pixel data in an inflated data set (header, overlays, private data). */
const INFLATE_ROOM_BYTES = 16_000_000;
/** Most frames one file may declare (per-frame positions are kept for each). */
export const MAX_FRAMES = 1_000_000;

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(n / 1e3)} KB`;
}

export interface VoiLut {
  firstValueMapped: number;
  bitsPerEntry: number;
  data: number[];
  explanation: string;
}

/** Modality LUT Sequence (0028,3000): stored value → output value, replacing rescale slope/intercept. */
export interface ModalityLut {
  firstValueMapped: number;
  data: number[];
}

export interface InstanceMeta {
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
  transferSyntax: string;
  patientName: string;
  patientId: string;
  patientBirthDate: string;
  patientSex: string;
  studyDate: string;
  studyTime: string;
  studyDescription: string;
  accessionNumber: string;
  seriesDescription: string;
  seriesNumber: number | null;
  modality: string;
  institutionName: string;
  /** Acquisition facts a reader expects in the corners: Patient's Age, kVp (CT), TR and TE (MR). */
  patientAge: string;
  kvp: number | null;
  repetitionTime: number | null;
  echoTime: number | null;
  instanceNumber: number | null;
  frameOfReferenceUid: string | null;
  hasPixels: boolean;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  photometric: string;
  planarConfiguration: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  rescaleType: string;
  windows: WindowPreset[];
  voiLutFunction: string;
  voiLut: VoiLut | null;
  modalityLut: ModalityLut | null;
  pixelSpacing: [number, number] | null;
  pixelSpacingSource: 'PixelSpacing' | 'ImagerPixelSpacing' | 'none';
  sliceThickness: number | null;
  imageOrientationPatient: number[] | null;
  /** Image position of each frame (index = frame), null where unknown. */
  framePositions: Array<number[] | null>;
  /** Float or double pixel data (7FE0,0008 / 7FE0,0009). */
  floatPixels: 'float' | 'double' | null;
}

export interface ParsedFile {
  dataSet: DataSet;
  meta: InstanceMeta;
  ts: TransferSyntaxInfo;
  pixelElement: Element | null;
  isDicomDir: boolean;
}

function str(ds: DataSet | undefined, tag: string): string {
  if (!ds) return '';
  try {
    return (ds.string(tag) ?? '').trim();
  } catch {
    return '';
  }
}

function num(ds: DataSet | undefined, tag: string, index = 0): number | null {
  if (!ds?.elements[tag]) return null;
  try {
    const v = ds.floatString(tag, index);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function us(ds: DataSet, tag: string): number | null {
  const e = ds.elements[tag];
  if (!e || e.length < 2) return null;
  try {
    const v = ds.uint16(tag);
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}

function nums(ds: DataSet | undefined, tag: string, count: number): number[] | null {
  if (!ds?.elements[tag]) return null;
  const out: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const v = num(ds, tag, i);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet;
}

/** The first of a functional-group macro: per-frame item, else the shared item. */
function functionalGroup(ds: DataSet, frame: number, macroTag: string): DataSet | undefined {
  const perFrame = ds.elements.x52009230?.items?.[frame]?.dataSet;
  return firstItem(perFrame, macroTag) ?? firstItem(firstItem(ds, 'x52009229'), macroTag);
}

function describeParserError(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object' && 'exception' in e) return describeParserError((e as { exception: unknown }).exception);
  return String(e);
}

function looksTruncated(message: string): boolean {
  return /past end|end of buffer|buffer overrun|beyond|outside|truncat|ran out|RangeError|offset is out of bounds|maxPosition|cannot be greater than/i.test(message);
}

/**
 * Files without the 128-byte preamble and 'DICM': accepted only when the first tag is in group 0x0008
 * (a plain data set, as some old devices write), as pydicom's force mode would read them. Returns the
 * transfer syntax to assume, or null for anything else.
 */
function guessRawTransferSyntax(bytes: Uint8Array): string | null {
  if (bytes.length < 8) return null;
  const le = (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8);
  const be = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
  const vrLetters = /^[A-Z]{2}$/.test(String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0));
  if (le === 0x0008) return vrLetters ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2';
  if (be === 0x0008) return '1.2.840.10008.1.2.2';
  return null;
}

export function hasPreamble(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

// The package's types declare DataSet as an interface only; the bundle exports the class.
const DataSetClass = (dicomParser as unknown as { DataSet: new (parser: unknown, bytes: Uint8Array, elements: Record<string, Element>) => DataSet }).DataSet;

/** Bytes the pixel data of a (partial) data set declares: rows x columns x samples x bits x frames. */
function declaredPixelBytes(ds: DataSet): number | null {
  const rows = us(ds, 'x00280010');
  const columns = us(ds, 'x00280011');
  const bits = us(ds, 'x00280100');
  if (!rows || !columns || !bits) return null;
  const samples = us(ds, 'x00280002') ?? 1;
  const frames = Math.max(1, Math.floor(num(ds, 'x00280008') ?? 1));
  return Math.ceil((rows * columns * samples * bits * frames) / 8);
}

/**
 * The elements before the pixel data of a deflated data set, from as short a prefix as holds them: the
 * image attributes say how big the whole data set may plausibly be before it is inflated.
 */
function inflatedHeader(deflated: Uint8Array): DataSet | null {
  for (const take of [4096, 65536, 1 << 20, 16 << 20]) {
    const prefix = deflated.subarray(0, Math.min(take, deflated.length));
    let partial: Buffer;
    try {
      // Z_SYNC_FLUSH: a prefix inflates to what it holds instead of failing as truncated.
      partial = inflateRawSync(prefix, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: INFLATE_ROOM_BYTES });
    } catch {
      return null;
    }
    const ds = new DataSetClass(dicomParser.littleEndianByteArrayParser, partial, {});
    try {
      dicomParser.parseDicomDataSetExplicit(ds, new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, partial, 0), partial.length, { untilTag: 'x7fe00010' });
    } catch {
      // the prefix ends inside an element: what was read before it is kept
    }
    // Past (0028,0100) every image attribute has been seen (elements come in tag order).
    if (Object.keys(ds.elements).some((t) => t > 'x00280100') || prefix.length === deflated.length) return ds;
  }
  return null;
}

function inflater(arr: Uint8Array, position: number): Uint8Array {
  const deflated = arr.subarray(position);
  const header = inflatedHeader(deflated);
  const pixelBytes = header ? declaredPixelBytes(header) : null;
  const cap = Math.min(MAX_DICOM_BYTES, INFLATE_ROOM_BYTES + (pixelBytes ?? 0));
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(deflated, { maxOutputLength: cap });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      const declared = pixelBytes === null ? 'it declares no image size' : `its declared pixel data needs ${formatBytes(pixelBytes)}`;
      throw new DicomFileError(
        'too-large',
        `The deflated data set inflates to more than ${formatBytes(cap)}, though ${declared}: it was not inflated further (a decompression bomb or a damaged file).`,
      );
    }
    throw new DicomFileError('truncated', `The deflated data set cannot be inflated: ${(e as Error).message}`);
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(arr.subarray(0, position));
  full.set(inflated, position);
  return full;
}

/**
 * Some writers label a data set Explicit VR Little Endian but encode it implicit (pydicom reads these
 * with a warning). Re-read such a file as implicit VR, keeping the labelled syntax for the pixel data.
 */
function retryAsImplicit(bytes: Uint8Array): { dataSet: DataSet; transferSyntax: string } | null {
  try {
    const header = dicomParser.readPart10Header(bytes) as DataSet & { position?: number };
    const tsEl = header.elements.x00020010;
    const position = header.position ?? 0;
    if (!tsEl || tsEl.length < 17 || position + 6 > bytes.length) return null;
    const original = (dicomParser.readFixedString(bytes, tsEl.dataOffset, tsEl.length) ?? '').replace(/\0+$/, '').trim();
    const info = TRANSFER_SYNTAXES.get(original);
    if (!info || !info.explicitVr || info.bigEndian || info.deflated) return null;
    if (/^[A-Z]{2}$/.test(String.fromCharCode(bytes[position + 4] ?? 0, bytes[position + 5] ?? 0))) return null; // really explicit
    const copy = new Uint8Array(bytes); // a copy (Buffer.slice would be a view)
    const implicit = '1.2.840.10008.1.2';
    for (let i = 0; i < tsEl.length; i += 1) copy[tsEl.dataOffset + i] = i < implicit.length ? implicit.charCodeAt(i) : 0;
    const dataSet = dicomParser.parseDicom(copy);
    const px = dataSet.elements.x7fe00010;
    if (px?.hadUndefinedLength) {
      const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, copy, px.dataOffset);
      dicomParser.findEndOfEncapsulatedElement(stream, px, []);
    }
    return { dataSet, transferSyntax: original };
  } catch {
    return null;
  }
}

function parseDataSet(bytes: Uint8Array): { dataSet: DataSet; transferSyntax?: string } {
  const preamble = hasPreamble(bytes);
  const rawSyntax = preamble ? null : guessRawTransferSyntax(bytes);
  if (!preamble && !rawSyntax) {
    throw new DicomFileError('not-dicom', "Not a DICOM file: no 'DICM' marker at byte 128 and no DICOM data set at the start.");
  }
  try {
    const options: import('dicom-parser').ParseDicomOptions = {
      inflater: inflater as unknown as import('dicom-parser').ParseDicomOptions['inflater'],
    };
    if (rawSyntax) options.TransferSyntaxUID = rawSyntax;
    return { dataSet: dicomParser.parseDicom(bytes, options) };
  } catch (e) {
    if (e instanceof DicomFileError) throw e;
    const implicit = preamble ? retryAsImplicit(bytes) : null;
    if (implicit) return implicit;
    const inner = e && typeof e === 'object' && 'exception' in e ? (e as { exception: unknown }).exception : e;
    if (inner instanceof DicomFileError) throw inner;
    const message = describeParserError(e);
    if (/missing required meta header attribute 0002,0010/.test(message)) {
      throw new DicomFileError('missing-attribute', 'The file meta information has no Transfer Syntax UID (0002,0010), so the data set cannot be read.');
    }
    if (looksTruncated(message)) throw new DicomFileError('truncated', `The file is truncated or an element length is wrong: ${message}`);
    throw new DicomFileError('unreadable', `The DICOM data set cannot be parsed: ${message}`);
  }
}

function readWindows(ds: DataSet | undefined): WindowPreset[] {
  if (!ds?.elements.x00281050 || !ds.elements.x00281051) return [];
  const n = Math.min(ds.numStringValues('x00281050') ?? 0, ds.numStringValues('x00281051') ?? 0, 16);
  const out: WindowPreset[] = [];
  for (let i = 0; i < n; i += 1) {
    const center = num(ds, 'x00281050', i);
    const width = num(ds, 'x00281051', i);
    if (center === null || width === null || !(width > 0)) continue;
    let explanation = '';
    try {
      explanation = (ds.string('x00281055', i) ?? '').trim();
    } catch {
      explanation = '';
    }
    out.push({ center, width, explanation });
  }
  return out;
}

/** The first item of a LUT sequence (VOI LUT 0028,3010 by default; the Modality LUT uses the same layout). */
function readVoiLut(ds: DataSet, sequenceTag = 'x00283010'): VoiLut | null {
  const item = firstItem(ds, sequenceTag);
  if (!item) return null;
  const desc = item.elements.x00283002;
  const dataEl = item.elements.x00283006;
  if (!desc || desc.length < 6 || !dataEl) return null;
  const entriesRaw = item.uint16('x00283002', 0) ?? 0;
  const entries = entriesRaw === 0 ? 65536 : entriesRaw;
  const firstSigned = item.int16('x00283002', 1) ?? 0;
  const firstUnsigned = item.uint16('x00283002', 1) ?? 0;
  const firstValueMapped = desc.vr === 'SS' ? firstSigned : firstUnsigned;
  const bitsPerEntry = item.uint16('x00283002', 2) ?? 16;
  const available = Math.floor(dataEl.length / 2);
  if (available < entries) return null;
  const data: number[] = new Array<number>(entries);
  for (let i = 0; i < entries; i += 1) data[i] = item.uint16('x00283006', i) ?? 0;
  return { firstValueMapped, bitsPerEntry, data, explanation: str(item, 'x00283003') };
}

function readModalityLut(ds: DataSet): ModalityLut | null {
  const lut = readVoiLut(ds, 'x00283000');
  return lut ? { firstValueMapped: lut.firstValueMapped, data: lut.data } : null;
}

function framePositions(ds: DataSet, frames: number, iop: number[] | null): Array<number[] | null> {
  const out: Array<number[] | null> = [];
  const perFrame = ds.elements.x52009230?.items;
  const topPosition = nums(ds, 'x00200032', 3);
  const gridOffsets = ds.elements.x3004000c ? ds.numStringValues('x3004000c') ?? 0 : 0;
  const normal = sliceNormal(iop);
  for (let f = 0; f < frames; f += 1) {
    if (perFrame) {
      out.push(nums(functionalGroup(ds, f, 'x00209113'), 'x00200032', 3));
    } else if (topPosition && normal && gridOffsets === frames && frames > 1) {
      // RT Dose: Grid Frame Offset Vector gives each frame's offset along the normal.
      const offsets = Array.from({ length: frames }, (_, i) => num(ds, 'x3004000c', i) ?? 0);
      const base = offsets[0] === 0 ? 0 : -(offsets[0] ?? 0);
      const d = (offsets[f] ?? 0) + base;
      out.push([topPosition[0]! + normal[0] * d, topPosition[1]! + normal[1] * d, topPosition[2]! + normal[2] * d]);
    } else {
      out.push(frames === 1 ? topPosition : f === 0 ? topPosition : null);
    }
  }
  return out;
}

/** An upper bound on the frames the pixel data element holds (its length over the smallest frame size). */
function framesPixelDataCanHold(ds: DataSet, rows: number, columns: number, bitsAllocated: number): number {
  const el = ds.elements.x7fe00010 ?? ds.elements.x7fe00008 ?? ds.elements.x7fe00009;
  if (!el) return 1;
  if (el.encapsulatedPixelData) return Math.min(MAX_FRAMES, Math.max(1, el.fragments?.length ?? 1)); // one fragment holds at most one frame
  const bitsPerFrame = Math.max(1, rows * columns * Math.max(1, bitsAllocated));
  return Math.min(MAX_FRAMES, Math.max(1, Math.floor((el.length * 8) / bitsPerFrame)));
}

function int(ds: DataSet, tag: string, fallback: number): number {
  return us(ds, tag) ?? fallback;
}

export function readMeta(ds: DataSet, transferSyntaxOverride?: string): InstanceMeta {
  const transferSyntax = transferSyntaxOverride ?? (str(ds, 'x00020010') || '1.2.840.10008.1.2');
  const pixelElement = ds.elements.x7fe00010;
  const floatEl = ds.elements.x7fe00008 ? 'float' : ds.elements.x7fe00009 ? 'double' : null;
  const frames = Math.max(1, Math.floor(num(ds, 'x00280008') ?? 1));
  const rows = int(ds, 'x00280010', 0);
  const columns = int(ds, 'x00280011', 0);
  const bitsAllocated = int(ds, 'x00280100', 0);
  const pixelMeasures = functionalGroup(ds, 0, 'x00289110');
  const orientationGroup = functionalGroup(ds, 0, 'x00209116');
  const transform = functionalGroup(ds, 0, 'x00289145');
  const voiGroup = functionalGroup(ds, 0, 'x00289132');
  const spacing = nums(pixelMeasures, 'x00280030', 2) ?? nums(ds, 'x00280030', 2);
  const imagerSpacing = nums(ds, 'x00181164', 2);
  const iop = nums(orientationGroup, 'x00200037', 6) ?? nums(ds, 'x00200037', 6);
  const goodSpacing = (s: number[] | null): s is [number, number] => !!s && s.every((v) => v > 0);
  const windows = readWindows(voiGroup).length ? readWindows(voiGroup) : readWindows(ds);
  const seriesNumber = num(ds, 'x00200011');
  const instanceNumber = num(ds, 'x00200013');
  return {
    sopClassUid: str(ds, 'x00080016') || str(ds, 'x00020002'),
    sopInstanceUid: str(ds, 'x00080018') || str(ds, 'x00020003'),
    studyUid: str(ds, 'x0020000d'),
    seriesUid: str(ds, 'x0020000e'),
    transferSyntax,
    patientName: str(ds, 'x00100010').replace(/\^+/g, ' ').trim(),
    patientId: str(ds, 'x00100020'),
    patientBirthDate: str(ds, 'x00100030'),
    patientSex: str(ds, 'x00100040'),
    studyDate: str(ds, 'x00080020'),
    studyTime: str(ds, 'x00080030'),
    studyDescription: str(ds, 'x00081030'),
    accessionNumber: str(ds, 'x00080050'),
    seriesDescription: str(ds, 'x0008103e'),
    seriesNumber,
    modality: str(ds, 'x00080060'),
    institutionName: str(ds, 'x00080080'),
    patientAge: str(ds, 'x00101010'),
    kvp: num(ds, 'x00180060'),
    repetitionTime: num(ds, 'x00180080'),
    echoTime: num(ds, 'x00180081'),
    instanceNumber,
    frameOfReferenceUid: str(ds, 'x00200052') || null,
    hasPixels: !!pixelElement || !!floatEl,
    rows,
    columns,
    frames,
    samplesPerPixel: int(ds, 'x00280002', 1),
    photometric: str(ds, 'x00280004') || 'MONOCHROME2',
    planarConfiguration: int(ds, 'x00280006', 0),
    bitsAllocated,
    bitsStored: int(ds, 'x00280101', bitsAllocated),
    highBit: int(ds, 'x00280102', bitsAllocated - 1),
    pixelRepresentation: int(ds, 'x00280103', 0),
    rescaleSlope: num(transform, 'x00281053') ?? num(ds, 'x00281053') ?? 1,
    rescaleIntercept: num(transform, 'x00281052') ?? num(ds, 'x00281052') ?? 0,
    rescaleType: str(transform, 'x00281054') || str(ds, 'x00281054'),
    windows,
    voiLutFunction: str(voiGroup, 'x00281056') || str(ds, 'x00281056') || 'LINEAR',
    voiLut: readVoiLut(ds),
    modalityLut: readModalityLut(ds),
    pixelSpacing: goodSpacing(spacing) ? spacing : goodSpacing(imagerSpacing) ? imagerSpacing : null,
    pixelSpacingSource: goodSpacing(spacing) ? 'PixelSpacing' : goodSpacing(imagerSpacing) ? 'ImagerPixelSpacing' : 'none',
    sliceThickness: num(pixelMeasures, 'x00180050') ?? num(ds, 'x00180050'),
    imageOrientationPatient: iop,
    // Positions only for the frames the pixel data can hold: decoding refuses a larger declared count.
    framePositions: framePositions(ds, Math.min(frames, framesPixelDataCanHold(ds, rows, columns, bitsAllocated)), iop),
    floatPixels: floatEl,
  };
}

const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10';

/**
 * Whether the first bytes of a file (at least 132 when the file is that long) can start a DICOM file:
 * lets a scan skip big non-DICOM files without reading them whole.
 */
export function mayBeDicom(head: Uint8Array): boolean {
  return head.length > 0 && (hasPreamble(head) || guessRawTransferSyntax(head) !== null);
}

/** Parses a whole file (header and pixel element positions; pixels are decoded later, per frame). */
export function parseDicomBytes(bytes: Uint8Array): ParsedFile {
  if (bytes.length === 0) throw new DicomFileError('zero-length', 'The file is empty (0 bytes).');
  const { dataSet, transferSyntax } = parseDataSet(bytes);
  const meta = readMeta(dataSet, transferSyntax);
  const ts = TRANSFER_SYNTAXES.get(meta.transferSyntax);
  if (!ts) {
    throw new DicomFileError('unsupported-transfer-syntax', `Unsupported transfer syntax ${meta.transferSyntax}; this file cannot be decoded.`);
  }
  const isDicomDir = meta.sopClassUid === DICOMDIR_SOP_CLASS || !!dataSet.elements.x00041220;
  return { dataSet, meta, ts, pixelElement: dataSet.elements.x7fe00010 ?? null, isDicomDir };
}

export { describeTransferSyntax };
