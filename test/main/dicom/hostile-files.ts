/**
 * Hostile DICOM files made at test time (nothing large is committed): a minimal Part 10 writer (explicit
 * VR little endian, or deflated) and the files of security issue #14 built with it.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';

export interface Element {
  /** Group and element, e.g. 0x00280010. */
  tag: number;
  vr: string;
  value: Uint8Array | string | number;
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const LONG_LENGTH_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV']);

function valueBytes(e: Element): Uint8Array {
  if (e.value instanceof Uint8Array) return e.value;
  if (typeof e.value === 'number') {
    const b = new Uint8Array(e.vr === 'UL' ? 4 : 2);
    const view = new DataView(b.buffer);
    if (e.vr === 'UL') view.setUint32(0, e.value, true);
    else view.setUint16(0, e.value, true);
    return b;
  }
  const pad = e.vr === 'UI' ? '\0' : ' ';
  const text = e.value.length % 2 ? e.value + pad : e.value;
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function encodeElement(e: Element): Uint8Array {
  const value = valueBytes(e);
  const long = LONG_LENGTH_VRS.has(e.vr);
  const head = new Uint8Array(long ? 12 : 8);
  const view = new DataView(head.buffer);
  view.setUint16(0, e.tag >>> 16, true);
  view.setUint16(2, e.tag & 0xffff, true);
  head[4] = e.vr.charCodeAt(0);
  head[5] = e.vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  return Buffer.concat([head, value]);
}

function encodeElements(elements: Element[]): Uint8Array {
  return Buffer.concat([...elements].sort((a, b) => a.tag - b.tag).map(encodeElement));
}

/** Preamble, 'DICM' and the file meta group for a data set in `transferSyntax`. */
function fileMeta(transferSyntax: string, sopInstanceUid: string): Uint8Array {
  const group = encodeElements([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: SECONDARY_CAPTURE },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: transferSyntax },
  ]);
  const length = encodeElement({ tag: 0x00020000, vr: 'UL', value: group.length });
  return Buffer.concat([new Uint8Array(128), Buffer.from('DICM', 'latin1'), length, group]);
}

export interface ImageOptions {
  rows?: number;
  columns?: number;
  /** Number of Frames as written (a string: hostile values are allowed). */
  frames?: string;
  rescaleSlope?: string;
  /** Pixel bytes; default: rows x columns 16-bit samples of a ramp. */
  pixels?: Uint8Array;
  uid?: string;
}

/** Data set elements of a small 16-bit monochrome image. */
export function imageElements(o: ImageOptions = {}): Element[] {
  const rows = o.rows ?? 8;
  const columns = o.columns ?? 8;
  const uid = o.uid ?? '1.2.826.0.1.3680043.8.498.14';
  let pixels = o.pixels;
  if (!pixels) {
    const samples = new Uint16Array(rows * columns);
    for (let i = 0; i < samples.length; i += 1) samples[i] = i * 7;
    pixels = new Uint8Array(samples.buffer);
  }
  const elements: Element[] = [
    { tag: 0x00080016, vr: 'UI', value: SECONDARY_CAPTURE },
    { tag: 0x00080018, vr: 'UI', value: uid },
    { tag: 0x00080060, vr: 'CS', value: 'OT' },
    { tag: 0x0020000d, vr: 'UI', value: `${uid}.1` },
    { tag: 0x0020000e, vr: 'UI', value: `${uid}.2` },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: rows },
    { tag: 0x00280011, vr: 'US', value: columns },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
  if (o.frames !== undefined) elements.push({ tag: 0x00280008, vr: 'IS', value: o.frames });
  if (o.rescaleSlope !== undefined) {
    elements.push({ tag: 0x00281053, vr: 'DS', value: o.rescaleSlope }, { tag: 0x00281052, vr: 'DS', value: '0' });
  }
  return elements;
}

/** A Part 10 file, explicit VR little endian. */
export function dicomFile(elements: Element[], uid = '1.2.826.0.1.3680043.8.498.14'): Uint8Array {
  return Buffer.concat([fileMeta(EXPLICIT_LE, uid), encodeElements(elements)]);
}

/** A Part 10 file, Deflated Explicit VR Little Endian: the data set as raw deflate. */
export function deflatedDicomFile(dataSet: Uint8Array, uid = '1.2.826.0.1.3680043.8.498.14'): Uint8Array {
  return Buffer.concat([fileMeta(DEFLATED, uid), deflateRawSync(dataSet, { level: 9 })]);
}

/** An image whose Number of Frames claims ~10^12 frames over one real 8x8 frame (a few hundred bytes). */
export function absurdFrameCountFile(): Uint8Array {
  return dicomFile(imageElements({ frames: '999999999999' }));
}

/**
 * A deflated file declaring one 8x8 image whose data set inflates to `inflatedMiB` MiB: the pixels are
 * followed by a huge run of zeros in a private OB element, which deflate shrinks ~1000:1.
 */
export function deflateBombFile(inflatedMiB: number): Uint8Array {
  const header = encodeElements(imageElements());
  const privateHead = encodeElement({ tag: 0x7fe10010, vr: 'OB', value: new Uint8Array(0) });
  const filler = inflatedMiB * 1024 * 1024;
  new DataView(privateHead.buffer, privateHead.byteOffset).setUint32(8, filler, true);
  // Deflate the zeros in chunks so the test itself never holds the inflated size.
  const zlib = deflateRawSync(Buffer.concat([header, privateHead]), { level: 9, finishFlush: 2 /* Z_SYNC_FLUSH */ });
  const zeros = Buffer.alloc(1024 * 1024);
  const parts: Uint8Array[] = [zlib];
  const chunk = deflateRawSync(zeros, { level: 9, finishFlush: 2 });
  for (let i = 0; i < inflatedMiB; i += 1) parts.push(chunk);
  parts.push(deflateRawSync(new Uint8Array(0), { level: 9 }));
  return Buffer.concat([fileMeta(DEFLATED, '1.2.826.0.1.3680043.8.498.15'), ...parts]);
}

/**
 * A valid small image extended with ftruncate to `totalBytes` (a sparse file: no disk space used), with
 * a trailing private OB element that claims the rest of the file, so the whole file is one valid data set.
 */
export function writeSparseBigFile(file: string, totalBytes: number): void {
  const head = dicomFile(imageElements());
  const privateHead = encodeElement({ tag: 0x7fe10010, vr: 'OB', value: new Uint8Array(0) });
  new DataView(privateHead.buffer, privateHead.byteOffset).setUint32(8, totalBytes - head.length - privateHead.length, true);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    writeSync(fd, privateHead);
    ftruncateSync(fd, totalBytes);
  } finally {
    closeSync(fd);
  }
}

/** An item of a sequence of defined length: (FFFE,E000), its length, its elements. */
function sequenceItem(elements: Element[]): Uint8Array {
  const body = encodeElements(elements);
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  view.setUint16(0, 0xfffe, true);
  view.setUint16(2, 0xe000, true);
  view.setUint32(4, body.length, true);
  return Buffer.concat([head, body]);
}

/** A DICOMDIR whose IMAGE records refer to `fileIds` (each a list of path components, as in the standard). */
export function dicomDirFile(fileIds: string[][]): Uint8Array {
  const records = fileIds.map((id) =>
    sequenceItem([
      { tag: 0x00041430, vr: 'CS', value: 'IMAGE' },
      { tag: 0x00041500, vr: 'CS', value: id.join('\\') },
    ]),
  );
  return dicomFile([
    { tag: 0x00041130, vr: 'CS', value: 'HOSTILE' },
    { tag: 0x00041220, vr: 'SQ', value: Buffer.concat(records) },
  ]);
}
