import { existsSync } from 'node:fs';
import dcmjs from 'dcmjs';
import type { GenerationTask } from '../../src-shared/contracts/model-pack';
import { APP_NAME, appVersion } from '../shell/app-info';
import { decodeConfidenceMap } from './confidence-artifacts';
import { DerivedSeriesWriter, type SourceAttributes } from './derived-dicom';

/**
 * A generated series' confidence maps as a DICOM Secondary Capture series beside it: one instance per
 * generated slice, with that slice's geometry (position, orientation, spacing, frame of reference), the
 * same patient/study, provenance and demonstration label as the generated series, and a Source Image
 * Sequence pointing at the generated slice it describes, so a viewer overlays them aligned.
 */

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

type Header = Record<string, unknown>;

function header(bytes: Uint8Array): Header {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(ab, { untilTag: '7FE00010' }).dict) as Header;
}

const nums = (v: unknown): number[] => (Array.isArray(v) ? v : String(v ?? '').split('\\')).map(Number);
const text = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  if (first && typeof first === 'object' && 'Alphabetic' in first) return String((first as { Alphabetic: unknown }).Alphabetic ?? '');
  return String(first);
};

export interface ConfidenceSeriesInput {
  task: GenerationTask;
  /** The run that generated the series (named in the description, Derivation Description and Image Comments). */
  runId: string;
  packName: string;
  packVersion: string;
  packSha256: string;
  /** Generated slices (DICOM bytes) and their maps, in instance order. */
  slices: Array<{ dicom: Uint8Array; map: Uint8Array }>;
}

/** Writes the series into `outDir` (which must not exist yet: nothing is ever replaced); returns the files. */
export function writeConfidenceSeries(input: ConfidenceSeriesInput, outDir: string): { seriesInstanceUid: string; files: string[] } {
  if (existsSync(outDir)) throw new Error(`${outDir} already exists and is never replaced`);
  const first = header(input.slices[0]!.dicom);
  const source: SourceAttributes = { StudyInstanceUID: String(first.StudyInstanceUID) };
  for (const k of ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientAge', 'StudyID', 'StudyDate', 'StudyTime', 'AccessionNumber', 'ReferringPhysicianName', 'StudyDescription', 'FrameOfReferenceUID', 'PositionReferenceIndicator', 'PatientPosition'] as const) {
    const v = text(first[k]);
    if (v !== undefined && v !== '') source[k] = v;
  }
  const writer = new DerivedSeriesWriter(
    {
      task: input.task,
      runId: input.runId,
      modality: 'MR',
      content: 'confidence',
      provenance: { packName: input.packName, packVersion: input.packVersion, packSha256: input.packSha256, demonstration: /NOT FOR CLINICAL USE/.test(String(first.SeriesDescription ?? '')), appName: APP_NAME, appVersion: appVersion() },
      source,
      seriesNumber: (Number(first.SeriesNumber) || 9000) + 500,
    },
    outDir,
  );
  input.slices.forEach((s, k) => {
    const h = header(s.dicom);
    const map = decodeConfidenceMap(s.map);
    if (map.rows !== Number(h.Rows) || map.cols !== Number(h.Columns)) throw new Error(`slice ${k + 1}: confidence map ${map.rows}×${map.cols} does not match the generated slice ${String(h.Rows)}×${String(h.Columns)}`);
    const pixels = new Uint16Array(map.rows * map.cols);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round((map.probability[i]! / 255) * 1000);
    const ipp = nums(h.ImagePositionPatient);
    const iop = nums(h.ImageOrientationPatient);
    const ps = nums(h.PixelSpacing);
    writer.writeSlice(
      {
        pixels,
        rows: map.rows,
        columns: map.cols,
        pixelSpacing: [ps[0]!, ps[1]!],
        imagePositionPatient: [ipp[0]!, ipp[1]!, ipp[2]!],
        imageOrientationPatient: [iop[0]!, iop[1]!, iop[2]!, iop[3]!, iop[4]!, iop[5]!],
        ...(h.SliceThickness !== undefined && h.SliceThickness !== '' ? { sliceThickness: Number(h.SliceThickness) } : {}),
        ...(h.SliceLocation !== undefined && h.SliceLocation !== '' ? { sliceLocation: Number(h.SliceLocation) } : {}),
        source: { sopClassUid: String(h.SOPClassUID), sopInstanceUid: String(h.SOPInstanceUID) },
      },
      k,
    );
  });
  return { seriesInstanceUid: writer.seriesInstanceUid, files: writer.files };
}
