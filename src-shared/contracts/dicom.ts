/**
 * Domain `dicom`: import DICOM files, browse patient → study → series, and fetch decoded frames.
 *
 * How the renderer viewer uses it (a Cornerstone image loader + metadata provider):
 * 1. `import({ paths })` starts a job (files, folders scanned recursively, DICOMDIR files followed).
 *    Progress arrives as `jobs:progress` events ({done,total} files); the `jobs:final` event's result is
 *    an `ImportReport` (validate with `importReportSchema`): one entry per file, ok or a clear message
 *    (not DICOM, truncated, zero length, wrong pixel data length, unsupported transfer syntax, ...).
 *    Cancel with `jobs:cancel`; files already read stay imported.
 * 2. `listStudies({})` → studies (patient fields included) each with its series summaries.
 * 3. `getSeries({ seriesUid })` → the series' images in display order: sorted by Image Position
 *    (Patient) along the slice normal (Instance Number when positions are missing or not parallel);
 *    each frame of a multi-frame file is one image. An image id for Cornerstone can be
 *    `healthgpt:<seriesUid>/<index>`; `index` is the position in `images`. Series appear while an
 *    import runs (first pixels early); indices are final once the import job has ended, so re-read
 *    the series after `jobs:final`.
 * 4. `getFrame({ seriesUid, index })` → `Frame`: decoded pixels plus everything a Cornerstone image
 *    object and the metadata provider modules (imagePlaneModule, modalityLutModule, voiLutModule,
 *    generalSeriesModule, patientModule) need.
 *
 * Pixel rules (Frame.pixels, typed array, crosses IPC as binary):
 * - Monochrome 8/12/16-bit: the *stored* values (before the modality LUT): Uint8Array, Uint16Array or
 *   Int16Array (signed, sign-extended from Bits Stored). Apply `rescaleSlope`/`rescaleIntercept` for HU
 *   etc. (Cornerstone does this itself from slope/intercept).
 * - 32-bit integer or float pixel data: Float32Array with the modality LUT already applied
 *   (then rescaleSlope = 1, rescaleIntercept = 0). Likewise a Modality LUT Sequence is applied here
 *   (Uint16Array of LUT output, slope 1, intercept 0).
 * - Colour (samplesPerPixel 3, PALETTE COLOR): interleaved RGB (`photometric` reports the original;
 *   `color` is true); YBR and planar configuration are already converted, so the viewer draws RGB.
 * - MONOCHROME1: pixels are as stored; `invert` is true and the viewer must invert the display (VOI is
 *   applied first, then inversion), as Cornerstone does for `image.invert`.
 * - `minPixelValue`/`maxPixelValue` are the min/max of `pixels`.
 * - VOI: `windows` holds every (center, width) pair of the file (multi-valued Window Center/Width);
 *   `voiLut` holds the first VOI LUT Sequence item when present. When neither is present the viewer
 *   derives a window from min/max after the modality LUT.
 * Geometry: `pixelSpacing` is [rowSpacing, columnSpacing] in mm (DICOM order) or null when unknown;
 * `imagePositionPatient`/`imageOrientationPatient` as in the file (null when absent). Helpers for
 * patient-space transforms and physical pane sync are in src-shared/dicom/geometry.ts.
 */
import { z } from 'zod';
import { operation } from '../ipc/define';
import { jobStartedSchema } from './jobs';

export const dicomErrorCodes = {
  seriesNotFound: 'DICOM_SERIES_NOT_FOUND',
  frameOutOfRange: 'DICOM_FRAME_OUT_OF_RANGE',
  fileGone: 'DICOM_FILE_GONE',
  decodeFailed: 'DICOM_DECODE_FAILED',
} as const;

/** Why a file was not imported; the message says it in words. */
export const fileProblemSchema = z.enum([
  'zero-length',
  'not-dicom',
  'truncated',
  'wrong-pixel-length',
  'unsupported-transfer-syntax',
  'no-pixel-data',
  'missing-attribute',
  'decode-failed',
  'unreadable',
  'timeout',
  /** Not read for safety: a symbolic link or a path outside the folder (DICOMDIR entries). */
  'refused',
  /** Larger than the app reads (file size, declared pixel data, inflated data set). */
  'too-large',
]);
export type FileProblem = z.infer<typeof fileProblemSchema>;

export const importEntrySchema = z.object({
  path: z.string(),
  status: z.enum(['ok', 'error', 'skipped']),
  /** Present unless status is ok. */
  problem: fileProblemSchema.optional(),
  message: z.string().optional(),
  seriesUid: z.string().optional(),
});
export type ImportEntry = z.infer<typeof importEntrySchema>;

export const importReportSchema = z.object({
  files: z.number().int().nonnegative(),
  imported: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Files that are valid DICOM but hold no image (DICOMDIR, SR, RT plan): listed, not imported. */
  skipped: z.number().int().nonnegative(),
  seriesUids: z.array(z.string()),
  entries: z.array(importEntrySchema),
  elapsedMs: z.number().nonnegative(),
});
export type ImportReport = z.infer<typeof importReportSchema>;

export const seriesSummarySchema = z.object({
  seriesUid: z.string(),
  studyUid: z.string(),
  seriesNumber: z.number().nullable(),
  seriesDescription: z.string(),
  modality: z.string(),
  /** Number of images (frames) in display order. */
  imageCount: z.number().int().nonnegative(),
  rows: z.number().int(),
  columns: z.number().int(),
  multiFrame: z.boolean(),
  frameOfReferenceUid: z.string().nullable(),
  transferSyntaxes: z.array(z.string()),
});
export type SeriesSummary = z.infer<typeof seriesSummarySchema>;

export const studySummarySchema = z.object({
  studyUid: z.string(),
  patientId: z.string(),
  patientName: z.string(),
  patientBirthDate: z.string(),
  patientSex: z.string(),
  studyDate: z.string(),
  studyTime: z.string(),
  studyDescription: z.string(),
  accessionNumber: z.string(),
  modalities: z.array(z.string()),
  series: z.array(seriesSummarySchema),
});
export type StudySummary = z.infer<typeof studySummarySchema>;

const vec3 = z.array(z.number()).length(3);
const vec6 = z.array(z.number()).length(6);
const vec2 = z.array(z.number()).length(2);

export const seriesImageSchema = z.object({
  index: z.number().int().nonnegative(),
  sopInstanceUid: z.string(),
  instanceNumber: z.number().nullable(),
  /** 0-based frame within its file (multi-frame), else 0. */
  frame: z.number().int().nonnegative(),
  rows: z.number().int(),
  columns: z.number().int(),
  imagePositionPatient: vec3.nullable(),
  imageOrientationPatient: vec6.nullable(),
  pixelSpacing: vec2.nullable(),
  sliceThickness: z.number().nullable(),
  /** Position along the series' slice normal (mm), when the geometry allows. */
  sliceLocation: z.number().nullable(),
});
export type SeriesImage = z.infer<typeof seriesImageSchema>;

export const seriesDetailSchema = seriesSummarySchema.extend({
  patientName: z.string(),
  patientId: z.string(),
  studyDescription: z.string(),
  studyDate: z.string(),
  /** How the images were ordered. */
  sortedBy: z.enum(['image-position', 'instance-number', 'file-order']),
  /** Unit slice normal used for sorting, when the geometry allows. */
  sliceNormal: vec3.nullable(),
  /** Mean spacing between slice positions (mm), when known. */
  sliceSpacing: z.number().nullable(),
  images: z.array(seriesImageSchema),
});
export type SeriesDetail = z.infer<typeof seriesDetailSchema>;

export const windowPresetSchema = z.object({ center: z.number(), width: z.number(), explanation: z.string() });
export type WindowPreset = z.infer<typeof windowPresetSchema>;

export const pixelArraySchema = z.union([
  z.instanceof(Uint8Array),
  z.instanceof(Int16Array),
  z.instanceof(Uint16Array),
  z.instanceof(Float32Array),
]);
export type PixelArray = z.infer<typeof pixelArraySchema>;

export const frameSchema = z.object({
  seriesUid: z.string(),
  index: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  sopInstanceUid: z.string(),
  sopClassUid: z.string(),
  instanceNumber: z.number().nullable(),
  frame: z.number().int().nonnegative(),
  transferSyntax: z.string(),
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  samplesPerPixel: z.number().int(),
  photometric: z.string(),
  color: z.boolean(),
  invert: z.boolean(),
  bitsAllocated: z.number().int(),
  bitsStored: z.number().int(),
  pixelRepresentation: z.number().int(),
  pixels: pixelArraySchema,
  minPixelValue: z.number(),
  maxPixelValue: z.number(),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  rescaleType: z.string(),
  windows: z.array(windowPresetSchema),
  voiLutFunction: z.string(),
  voiLut: z
    .object({ firstValueMapped: z.number(), bitsPerEntry: z.number().int(), data: z.array(z.number()), explanation: z.string() })
    .nullable(),
  pixelSpacing: vec2.nullable(),
  /** Which attribute gave pixelSpacing (PixelSpacing is patient-space; ImagerPixelSpacing is at the detector). */
  pixelSpacingSource: z.enum(['PixelSpacing', 'ImagerPixelSpacing', 'none']),
  imagePositionPatient: vec3.nullable(),
  imageOrientationPatient: vec6.nullable(),
  sliceThickness: z.number().nullable(),
  frameOfReferenceUid: z.string().nullable(),
  /** Texts for the corner overlays. */
  overlay: z.object({
    patientName: z.string(),
    patientId: z.string(),
    studyDate: z.string(),
    studyDescription: z.string(),
    seriesDescription: z.string(),
    seriesNumber: z.number().nullable(),
    modality: z.string(),
    institutionName: z.string(),
    /** Optional so frames made before these fields existed still parse. */
    patientSex: z.string().optional(),
    patientAge: z.string().optional(),
    accessionNumber: z.string().optional(),
    kvp: z.number().nullable().optional(),
    repetitionTime: z.number().nullable().optional(),
    echoTime: z.number().nullable().optional(),
  }),
});
export type Frame = z.infer<typeof frameSchema>;

export const probeEntrySchema = z.object({
  path: z.string(),
  ok: z.boolean(),
  problem: fileProblemSchema.optional(),
  error: z.string().optional(),
  sopClassUid: z.string().nullable(),
  modality: z.string().nullable(),
  transferSyntax: z.string().nullable(),
  rows: z.number().nullable(),
  columns: z.number().nullable(),
  frames: z.number().nullable(),
  pixelSpacing: vec2.nullable(),
  photometric: z.string().nullable(),
  /** 1 for grey, 3 for colour (RGB after conversion); absent where the file was not read that far. */
  samplesPerPixel: z.number().int().nullable().optional(),
  bitsAllocated: z.number().int().nullable().optional(),
  /** A plain image probed as such: 'PNG', 'JPEG' or 'TIFF' (absent for DICOM). */
  sourceFormat: z.enum(['PNG', 'JPEG', 'TIFF']).optional(),
  /** What else a reader should know (pages of a multi-page TIFF left out). */
  note: z.string().optional(),
  /** After the modality LUT, over all frames (colour: over all RGB samples). Null without pixels. */
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
});
export type ProbeEntry = z.infer<typeof probeEntrySchema>;

const pathList = z.array(z.string().min(1).max(4096)).min(1).max(100_000);

export const dicomContract = {
  /** Starts an import job; its final result is an ImportReport. */
  import: operation('dicom:import', z.object({ paths: pathList }).strict(), jobStartedSchema),
  listStudies: operation('dicom:list-studies', z.object({}).strict(), z.array(studySummarySchema)),
  getSeries: operation('dicom:get-series', z.object({ seriesUid: z.string().min(1).max(128) }).strict(), seriesDetailSchema),
  getFrame: operation(
    'dicom:get-frame',
    z.object({ seriesUid: z.string().min(1).max(128), index: z.number().int().nonnegative() }).strict(),
    frameSchema,
  ),
  /** Reads and fully decodes files without importing them (the CLI's `dicom probe`). */
  probe: operation('dicom:probe', z.object({ paths: pathList.max(10_000) }).strict(), z.array(probeEntrySchema)),
} as const;
