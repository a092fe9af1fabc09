/**
 * A DICOM Part 10 file from a data set received over DIMSE: the 128-byte preamble, "DICM", and the File
 * Meta Information (group 0002, always Explicit VR Little Endian) built from the C-STORE command, then the
 * data set's bytes exactly as they arrived in the negotiated transfer syntax (nothing re-encoded).
 */
import { IMPLEMENTATION_CLASS_UID } from '../workflow/derived-dicom';

export interface Part10Meta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The AE title that sent the object (0002,0016). */
  sourceAet?: string;
}

const IMPLEMENTATION_VERSION = 'HEALTHGPT_PACS';

/** One short-form Explicit VR element of group 0002 (UI padded with NUL, text with a space: even lengths). */
function element(elementNo: number, vr: 'UI' | 'SH' | 'AE' | 'UL', value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0x0002, 0);
  header.writeUInt16LE(elementNo, 2);
  header.write(vr, 4, 'latin1');
  header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function text(value: string, pad: '\0' | ' '): Buffer {
  return Buffer.from(value.length % 2 ? value + pad : value, 'latin1');
}

export function toPart10(dataset: Uint8Array, meta: Part10Meta): Buffer {
  // (0002,0001) File Meta Information Version: OB, long form.
  const version = Buffer.from([0x02, 0x00, 0x01, 0x00, 0x4f, 0x42, 0, 0, 2, 0, 0, 0, 0x00, 0x01]);
  const rest = Buffer.concat([
    version,
    element(0x0002, 'UI', text(meta.sopClassUid, '\0')),
    element(0x0003, 'UI', text(meta.sopInstanceUid, '\0')),
    element(0x0010, 'UI', text(meta.transferSyntaxUid, '\0')),
    element(0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, '\0')),
    element(0x0013, 'SH', text(IMPLEMENTATION_VERSION, ' ')),
    ...(meta.sourceAet ? [element(0x0016, 'AE', text(meta.sourceAet.trim(), ' '))] : []),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(rest.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0000, 'UL', groupLength), rest, dataset]);
}

/** The data set of a Part 10 file: the bytes after its File Meta Information (what C-STORE sends). */
export function datasetOf(file: Uint8Array): { dataset: Uint8Array; transferSyntaxUid: string; sopClassUid: string; sopInstanceUid: string } | null {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 144 || buf.toString('latin1', 128, 132) !== 'DICM') return null;
  let offset = 132;
  const found: Record<number, string> = {};
  while (offset + 8 <= buf.length && buf.readUInt16LE(offset) === 0x0002) {
    const elementNo = buf.readUInt16LE(offset + 2);
    const vr = buf.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? buf.readUInt32LE(offset + 8) : buf.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    if (start + length > buf.length) return null;
    found[elementNo] = buf.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    offset = start + length;
  }
  const [sopClassUid, sopInstanceUid, transferSyntaxUid] = [found[0x0002], found[0x0003], found[0x0010]];
  if (!sopClassUid || !sopInstanceUid || !transferSyntaxUid) return null;
  return { dataset: buf.subarray(offset), transferSyntaxUid, sopClassUid, sopInstanceUid };
}
