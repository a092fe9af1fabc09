/**
 * Wraps a decoded plain image as one multi-frame secondary-capture DICOM object (a frame per page), so
 * the series index, the decode worker and the viewer treat it as any other image. The object names its
 * source: file name, format and SHA-256 (Derivation Description and Image Comments), and says where its
 * pixel size came from; Pixel Spacing is written only when the file stated a physical unit.
 * UIDs derive from the file's hash, so importing the same file twice gives the same study and series.
 */
import { createHash } from 'node:crypto';
import dcmjs from 'dcmjs';
import type { PlainImage } from './plain-image';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Multi-frame Grayscale Byte / Word and True Color SC (PS3.4 B.5); 16-bit RGB has no multi-frame SC class. */
const SOP_CLASS = {
  greyByte: '1.2.840.10008.5.1.4.1.1.7.2',
  greyWord: '1.2.840.10008.5.1.4.1.1.7.3',
  trueColor: '1.2.840.10008.5.1.4.1.1.7.4',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
} as const;
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.208215178512345062119377416734186413107';

export interface PlainSource {
  /** The source file's name (no folder). */
  name: string;
  /** SHA-256 of the source file's bytes, hex. */
  sha256: string;
}

/** A UID under 2.25 from the file hash and a role: stable across imports of the same bytes. */
export function uidFromHash(sha256: string, role: string): string {
  const h = createHash('sha256').update(`${role}:${sha256}`).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${h}`).toString()}`;
}

function ds16(n: number): string {
  return String(Number(n.toPrecision(10)));
}

function sopClassFor(samples: number, bits: number): string {
  if (samples === 3) return bits === 8 ? SOP_CLASS.trueColor : SOP_CLASS.secondaryCapture;
  return bits === 8 ? SOP_CLASS.greyByte : SOP_CLASS.greyWord;
}

export function secondaryCaptureFor(image: PlainImage, source: PlainSource, now = new Date()): Uint8Array {
  const first = image.pages[0];
  if (!first) throw new Error('a plain image without pages');
  const frames = image.pages.length;
  const sopClass = sopClassFor(first.samplesPerPixel, first.bitsPerSample);
  const sopInstanceUid = uidFromHash(source.sha256, 'sop');
  const bytesPerFrame = first.pixels.byteLength;
  const total = bytesPerFrame * frames;
  const padded = total + (total % 2); // even length, zero-padded
  if (padded > 0xfffffffe) throw new Error('pixel data over 4 GiB');
  const spacing = first.pixelSpacingMm;
  const where = `${source.name} (${image.format}${frames > 1 ? `, ${frames} pages` : ''}), SHA-256 ${source.sha256}`;
  const pixelNote = spacing ? `pixel size ${ds16(spacing[1] * 1000)} x ${ds16(spacing[0] * 1000)} um from ${first.pixelSpacingSource}` : 'pixel size unknown (not stated in the file)';
  const da = now.toISOString().slice(0, 10).replace(/-/g, '');
  const tm = now.toISOString().slice(11, 19).replace(/:/g, '');
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'SECONDARY'],
    SOPClassUID: sopClass,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: uidFromHash(source.sha256, 'study'),
    SeriesInstanceUID: uidFromHash(source.sha256, 'series'),
    StudyDate: '',
    StudyTime: '',
    ContentDate: da,
    ContentTime: tm,
    AccessionNumber: '',
    ReferringPhysicianName: '',
    StudyID: '',
    PatientName: '',
    PatientID: '',
    PatientBirthDate: '',
    PatientSex: '',
    Modality: 'OT',
    ConversionType: 'WSD',
    Manufacturer: 'HealthGPT Workstation',
    StudyDescription: `Imported ${image.format} image`,
    SeriesDescription: source.name.slice(0, 64),
    SeriesNumber: 1,
    InstanceNumber: 1,
    PatientOrientation: '',
    DerivationDescription: `Imported from the ${image.format} file ${where}; ${pixelNote}.`.slice(0, 1024),
    ImageComments: `Source file ${where}; ${pixelNote}${image.notes.length ? `; ${image.notes.join('; ')}` : ''}`.slice(0, 10240),
    BurnedInAnnotation: 'NO',
    // JPEG sources were lossy-compressed once already (PS3.3 C.7.6.1.1.5).
    LossyImageCompression: image.format === 'JPEG' ? '01' : '00',
    ...(image.format === 'JPEG' ? { LossyImageCompressionMethod: 'ISO_10918_1' } : {}),
    SamplesPerPixel: first.samplesPerPixel,
    PhotometricInterpretation: first.samplesPerPixel === 3 ? 'RGB' : first.whiteIsZero ? 'MONOCHROME1' : 'MONOCHROME2',
    ...(first.samplesPerPixel === 3 ? { PlanarConfiguration: 0 } : {}),
    NumberOfFrames: String(frames),
    Rows: first.height,
    Columns: first.width,
    BitsAllocated: first.bitsPerSample,
    BitsStored: first.bitsPerSample,
    HighBit: first.bitsPerSample - 1,
    PixelRepresentation: 0,
    ...(spacing ? { PixelSpacing: [ds16(spacing[0]), ds16(spacing[1])] } : {}),
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'HGPTWS_PLAIN',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  // Pixel Data, the last element, is appended here: dcmjs copies a large value several times over.
  const header = new Uint8Array(dict.write() as ArrayBuffer);
  const out = new Uint8Array(header.length + 12 + padded);
  out.set(header, 0);
  const view = new DataView(out.buffer, header.length, 12);
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, 0x0010, true);
  out.set(first.bitsPerSample === 16 ? [0x4f, 0x57] : [0x4f, 0x42], header.length + 4); // 'OW' / 'OB'
  view.setUint32(8, padded, true);
  image.pages.forEach((p, i) => out.set(new Uint8Array(p.pixels.buffer, p.pixels.byteOffset, p.pixels.byteLength), header.length + 12 + i * bytesPerFrame));
  return out;
}
