import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import type { GenerationTask } from '../../src-shared/contracts/model-pack';
import { writeFileAtomic } from '../fs/atomic-write';
import { makePrivateDir } from '../fs/private-files';

/**
 * Writes AI-generated images as a new DICOM series with provenance, as IHE AI Results and MONAI Deploy do:
 * new Series/SOP Instance UIDs, ImageType DERIVED\SECONDARY, Derivation Description naming task and pack,
 * Source Image Sequence pointing at the inputs, Contributing Equipment naming the app and the model pack,
 * the source's Frame of Reference (the output is aligned with its input), patient/study carried over,
 * Burned In Annotation NO, and "NOT FOR CLINICAL USE" in the Series Description for demonstration packs.
 */

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

const SOP_CLASS = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
} as const;
/** Secondary Capture Image Storage: what a confidence map is written as (a picture about images, not an acquisition). */
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation class UID root: 2.25 + a fixed UUID for HealthGPT Workstation. */
export const IMPLEMENTATION_CLASS_UID = '2.25.208215178512345062119377416734186413107';

export type DerivedModality = 'CT' | 'MR';

export interface ModelProvenance {
  packName: string;
  packVersion: string;
  packSha256: string;
  demonstration: boolean;
  appName: string;
  appVersion: string;
}

export interface DerivedSlice {
  /** Stored values: HU for CT (signed), arbitrary intensity units for MR (unsigned). */
  pixels: Int16Array | Uint16Array;
  rows: number;
  columns: number;
  /** Row spacing, column spacing in mm (DICOM order). */
  pixelSpacing: [number, number];
  imagePositionPatient: [number, number, number];
  imageOrientationPatient: [number, number, number, number, number, number];
  sliceThickness?: number;
  sliceLocation?: number;
  source: { sopClassUid: string; sopInstanceUid: string };
}

export interface DerivedSeriesRequest {
  task: GenerationTask;
  /** The run that generates the series: named in its description, derivation and comments. */
  runId: string;
  modality: DerivedModality;
  provenance: ModelProvenance;
  /** Attributes copied from a source instance (patient, study, frame of reference). */
  source: SourceAttributes;
  seriesNumber: number;
  /** A cancelled series keeps what was done, marked as incomplete. */
  incomplete?: boolean;
  windowCenter?: number;
  windowWidth?: number;
  /**
   * 'confidence': the slices are the run's confidence map (chosen-token probability × 1000), written as
   * Secondary Capture with the generated slices' geometry and provenance, Modality OT.
   */
  content?: 'image' | 'confidence';
}

export interface SourceAttributes {
  PatientName?: string;
  PatientID?: string;
  PatientBirthDate?: string;
  PatientSex?: string;
  PatientAge?: string;
  StudyInstanceUID: string;
  StudyID?: string;
  StudyDate?: string;
  StudyTime?: string;
  AccessionNumber?: string;
  ReferringPhysicianName?: string;
  StudyDescription?: string;
  FrameOfReferenceUID?: string;
  PositionReferenceIndicator?: string;
  PatientPosition?: string;
}

const CARRIED: Array<keyof SourceAttributes> = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientAge', 'StudyInstanceUID', 'StudyID', 'StudyDate',
  'StudyTime', 'AccessionNumber', 'ReferringPhysicianName', 'StudyDescription', 'FrameOfReferenceUID', 'PositionReferenceIndicator', 'PatientPosition',
];

/** A DICOM UID under the 2.25 root (a UUID as a decimal integer), as PS3.5 B.2 allows. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** Reads the attributes a derived series carries over from one of its source files. */
export function readSourceAttributes(file: string): SourceAttributes & { SOPClassUID: string; SOPInstanceUID: string; Modality?: string } {
  const buf = readFileSync(file);
  const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, { untilTag: '7FE00010' });
  const ds = DicomMetaDictionary.naturalizeDataset(dict.dict) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of [...CARRIED, 'SOPClassUID', 'SOPInstanceUID', 'Modality']) {
    const v = ds[k];
    if (v === undefined || v === null) continue;
    out[k] = k === 'PatientName' ? personNameText(v) : Array.isArray(v) ? v.join('\\') : String(v);
  }
  if (!out.StudyInstanceUID) throw new Error(`${path.basename(file)} has no Study Instance UID`);
  return out as unknown as SourceAttributes & { SOPClassUID: string; SOPInstanceUID: string };
}

function personNameText(v: unknown): string {
  const first = Array.isArray(v) ? v[0] : v;
  if (first && typeof first === 'object' && 'Alphabetic' in first) return String((first as { Alphabetic: unknown }).Alphabetic ?? '');
  return String(first ?? '');
}

const TASK_TEXT: Record<GenerationTask, string> = {
  sr: '4x super-resolution',
  ct2mri: 'CT to MRI synthesis',
  mri2ct: 'MRI to CT synthesis',
  recon: 'image reconstruction',
};

/** Short task names for the 64-character Series Description, where run, review state and warnings must fit too. */
const TASK_SHORT: Record<GenerationTask, string> = {
  sr: 'SR x4',
  ct2mri: 'CT to MRI',
  mri2ct: 'MRI to CT',
  recon: 'recon',
};

/** A run's review state as it travels in the DICOM: the latest decision, or unreviewed. */
export type SeriesReviewState = 'unreviewed' | 'accepted' | 'rejected' | 'edited';

export interface ReviewStamp {
  state: SeriesReviewState;
  reviewer?: string;
  /** Epoch ms of the decision. */
  at?: number;
}

/** The run id as people read it: its first 8 hex digits (the same short id the window and CLI show). */
export function shortRunId(runId: string): string {
  return runId.replace(/^run-/, '').slice(0, 8);
}

function da(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}
function tm(date: Date): string {
  return date.toISOString().slice(11, 19).replace(/:/g, '');
}

/** Patient-orientation letters of a direction (LPS: +x Left, +y Posterior, +z Head), strongest axis first. */
function orientationLetters(v: readonly number[]): string {
  const axes = [['L', 'R'], ['P', 'A'], ['H', 'F']] as const;
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]!) > 0.25)
    .sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!))
    .map((i) => axes[i]![v[i]! > 0 ? 0 : 1])
    .join('');
}

/** DICOM decimal strings are at most 16 characters. */
function ds16(n: number): number {
  return Number(n.toPrecision(10));
}

/**
 * "AI MRI to CT 1a2b3c4d UNREVIEWED INCOMPLETE NOT FOR CLINICAL USE": task, run, review state, then the
 * warnings; the longest combination is exactly 64 characters (LO), so nothing is cut.
 */
export function seriesDescription(task: GenerationTask, runId: string, review: SeriesReviewState, demonstration: boolean, incomplete: boolean, confidence = false): string {
  // A confidence-map series says so in place of the review state (a map is an aid to the review, not its
  // object), so the longest one, "AI MRI to CT 1a2b3c4d CONFIDENCE INCOMPLETE NOT FOR CLINICAL USE", fits too.
  const parts = ['AI', TASK_SHORT[task], shortRunId(runId), confidence ? 'CONFIDENCE' : review.toUpperCase()];
  if (incomplete) parts.push('INCOMPLETE');
  if (demonstration) parts.push('NOT FOR CLINICAL USE');
  return parts.join(' ').slice(0, 64);
}

/** The review sentence of Derivation Description and Image Comments ("review: rejected by ana on 2026-12-02"). */
export function reviewText(stamp: ReviewStamp): string {
  if (stamp.state === 'unreviewed') return 'review: unreviewed (no person has reviewed this output)';
  const when = stamp.at !== undefined ? ` on ${new Date(stamp.at).toISOString().slice(0, 10)}` : '';
  return `review: ${stamp.state}${stamp.reviewer ? ` by ${stamp.reviewer}` : ''}${when}`;
}

function imageComments(runId: string, stamp: ReviewStamp): string {
  return `AI-generated by HealthGPT, run ${runId}; ${reviewText(stamp)}. Not for diagnosis unless accepted by a reader.`.slice(0, 10240);
}

/** The Derivation Description of a run's slices with the given review (the review is its last clause). */
function derivationText(base: string, stamp: ReviewStamp): string {
  return `${base}; ${reviewText(stamp)}`.slice(0, 1024);
}


/**
 * Writes one derived series slice by slice, so the first generated slice can be shown (and survives a
 * cancel) before the last one exists. UIDs and timestamps are fixed when the writer is made.
 */
export class DerivedSeriesWriter {
  readonly seriesInstanceUid = newUid();
  readonly files: string[] = [];
  readonly sopInstanceUids: string[] = [];
  private readonly now = new Date();
  private readonly frameOfReferenceUid: string;
  private readonly derivation: string;

  constructor(
    private readonly request: DerivedSeriesRequest,
    private readonly outDir: string,
  ) {
    makePrivateDir(outDir); // generated DICOM carries the patient's identity
    this.frameOfReferenceUid = request.source.FrameOfReferenceUID ?? newUid();
    const p = request.provenance;
    this.derivation = derivationText(
      `${TASK_TEXT[request.task]} by ${p.packName} ${p.packVersion} (HealthGPT)${p.demonstration ? '; demonstration model, not for clinical use' : ''}; run ${request.runId}`,
      { state: 'unreviewed' },
    );
  }

  /** Writes slice `index` (0-based; Instance Number index + 1) atomically; returns its file and the bytes written. */
  writeSlice(slice: DerivedSlice, index: number, incomplete = false): { path: string; bytes: Uint8Array } {
    const request = this.request;
    const p = request.provenance;
    const now = this.now;
    const derivation = this.derivation;
    if (slice.pixels.length !== slice.rows * slice.columns) throw new Error(`slice ${index + 1}: pixel count does not match ${slice.rows}x${slice.columns}`);
    // Rewriting a slice (to mark a cancelled series incomplete) keeps its SOP Instance UID.
    const sopInstanceUid = this.sopInstanceUids[index] ?? newUid();
    const confidence = request.content === 'confidence';
    const sopClass = confidence ? SECONDARY_CAPTURE : SOP_CLASS[request.modality];
    const signed = !confidence && request.modality === 'CT';
    let min = Infinity;
    let max = -Infinity;
    for (const v of slice.pixels) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const carried: Record<string, unknown> = {};
    for (const k of CARRIED) if (request.source[k] !== undefined && request.source[k] !== '') carried[k] = request.source[k];
    const dataset: Record<string, unknown> = {
      _vrMap: { PixelData: 'OW' },
      _meta: {
        FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
        MediaStorageSOPClassUID: sopClass,
        MediaStorageSOPInstanceUID: sopInstanceUid,
        TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
        ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
        ImplementationVersionName: `HGPTWS_${p.appVersion}`.slice(0, 16),
      },
      SpecificCharacterSet: 'ISO_IR 192',
      // Value 3 is required by the CT and MR image modules: AXIAL for CT, OTHER for a synthetic MR.
      ImageType: ['DERIVED', 'SECONDARY', confidence ? 'CONFIDENCE' : request.modality === 'CT' ? 'AXIAL' : 'OTHER'],
      InstanceCreationDate: da(now),
      InstanceCreationTime: tm(now),
      SOPClassUID: sopClass,
      SOPInstanceUID: sopInstanceUid,
      ...carried,
      PatientName: request.source.PatientName ?? '',
      PatientID: request.source.PatientID ?? '',
      PatientBirthDate: request.source.PatientBirthDate ?? '',
      PatientSex: request.source.PatientSex ?? '',
      StudyDate: request.source.StudyDate ?? '',
      StudyTime: request.source.StudyTime ?? '',
      StudyID: request.source.StudyID ?? '',
      AccessionNumber: request.source.AccessionNumber ?? '',
      ReferringPhysicianName: request.source.ReferringPhysicianName ?? '',
      SeriesDate: da(now),
      SeriesTime: tm(now),
      ContentDate: da(now),
      ContentTime: tm(now),
      Modality: confidence ? 'OT' : request.modality,
      Manufacturer: 'HealthGPT Workstation',
      ManufacturerModelName: p.packName.slice(0, 64),
      SoftwareVersions: [`${p.appName} ${p.appVersion}`.slice(0, 64), `${p.packName} ${p.packVersion}`.slice(0, 64)],
      SeriesDescription: seriesDescription(request.task, request.runId, 'unreviewed', p.demonstration, incomplete || request.incomplete === true, confidence),
      DerivationDescription: derivation,
      ImageComments: imageComments(request.runId, { state: 'unreviewed' }),
      SourceImageSequence: [{ ReferencedSOPClassUID: slice.source.sopClassUid, ReferencedSOPInstanceUID: slice.source.sopInstanceUid }],
      ContributingEquipmentSequence: [
        {
          Manufacturer: 'HealthGPT Workstation',
          ManufacturerModelName: `${p.packName} ${p.packVersion}`.slice(0, 64),
          SoftwareVersions: [`${p.appName} ${p.appVersion}`.slice(0, 64), `pack sha256 ${p.packSha256.slice(0, 16)}`],
          ContributionDateTime: `${da(now)}${tm(now)}`,
          ContributionDescription: `${TASK_TEXT[request.task]} by ${p.packName}`.slice(0, 64),
          PurposeOfReferenceCodeSequence: [{ CodeValue: '109103', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Modifying Equipment' }],
        },
      ],
      SeriesInstanceUID: this.seriesInstanceUid,
      SeriesNumber: request.seriesNumber,
      Laterality: '',
      InstanceNumber: index + 1,
      FrameOfReferenceUID: this.frameOfReferenceUid,
      PositionReferenceIndicator: request.source.PositionReferenceIndicator ?? '',
      // Type 2C in CT and MR images (no Patient Orientation Code Sequence here): present, empty if unknown.
      PatientPosition: request.source.PatientPosition ?? '',
      ImagePositionPatient: slice.imagePositionPatient.map(ds16),
      ImageOrientationPatient: slice.imageOrientationPatient.map(ds16),
      PixelSpacing: slice.pixelSpacing.map(ds16),
      SliceThickness: slice.sliceThickness !== undefined ? ds16(slice.sliceThickness) : '',
      ...(slice.sliceLocation !== undefined ? { SliceLocation: ds16(slice.sliceLocation) } : {}),
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: slice.rows,
      Columns: slice.columns,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: signed ? 1 : 0,
      BurnedInAnnotation: 'NO',
      LossyImageCompression: '00',
      WindowCenter: ds16(request.windowCenter ?? (min + max) / 2),
      WindowWidth: ds16(request.windowWidth ?? Math.max(1, max - min)),
      PixelData: [slice.pixels.buffer.slice(slice.pixels.byteOffset, slice.pixels.byteOffset + slice.pixels.byteLength)],
    };
    if (confidence) {
      // SC Equipment (ConversionType WSD: made on a workstation); values are probability × 1000
      // Patient Orientation (Type 2C in SC, which has no Image Plane module) from the orientation vectors
      const iop = slice.imageOrientationPatient;
      Object.assign(dataset, { ConversionType: 'WSD', PatientOrientation: [orientationLetters(iop.slice(0, 3)), orientationLetters(iop.slice(3, 6))], RescaleIntercept: 0, RescaleSlope: 0.001, RescaleType: 'PROB', WindowCenter: 0.5, WindowWidth: 1 });
      dataset.ImageComments = 'Chosen image token probability of the model that generated the referenced slice (model-internal, not a measured error)';
    } else if (request.modality === 'CT') {
      Object.assign(dataset, { RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'HU', KVP: '', AcquisitionNumber: '' });
    } else {
      // Synthetic MR has no acquisition: "RM" (research mode) and "NONE" are the honest values.
      Object.assign(dataset, {
        ScanningSequence: 'RM', SequenceVariant: 'NONE', ScanOptions: '', MRAcquisitionType: '2D', EchoTime: '', EchoTrainLength: '', RepetitionTime: '', AcquisitionNumber: '',
      });
    }
    const meta = dataset._meta as Record<string, unknown>;
    delete dataset._meta;
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
    const bytes = new Uint8Array(dict.write() as ArrayBuffer);
    const file = path.join(this.outDir, `${String(index + 1).padStart(4, '0')}.dcm`);
    writeFileAtomic(file, bytes);
    this.files[index] = file;
    this.sopInstanceUids[index] = sopInstanceUid;
    return { path: file, bytes };
  }
}

const REVIEW_WORD = /\b(UNREVIEWED|ACCEPTED|REJECTED|EDITED)\b/;

/**
 * One written slice with the run's current review state: Series Description's state word, Derivation
 * Description's review clause and Image Comments (General Image module, Type 3). Everything else, the
 * pixels and the UIDs, is kept: the review is metadata about the same instance, as a PACS updates it.
 */
export function stampReview(bytes: Uint8Array, runId: string, stamp: ReviewStamp): Uint8Array {
  const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const dict = message.dict as Record<string, { vr: string; Value?: unknown[] }>;
  const text = (tag: string) => String(dict[tag]?.Value?.[0] ?? '');
  const state = stamp.state.toUpperCase();
  const description = text('0008103E');
  const stamped = REVIEW_WORD.test(description) ? description.replace(REVIEW_WORD, state) : `${description} ${state}`.trim();
  dict['0008103E'] = { vr: 'LO', Value: [stamped.slice(0, 64)] };
  const derivation = text('00082111').replace(/; review: .*$/, '');
  dict['00082111'] = { vr: 'ST', Value: [derivationText(derivation, stamp)] };
  dict['00204000'] = { vr: 'LT', Value: [imageComments(runId, stamp)] };
  const out = new DicomDict(message.meta);
  out.dict = dict;
  return new Uint8Array(out.write() as ArrayBuffer);
}
