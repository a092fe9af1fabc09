/** A decoded frame from the worker, as the `dicom` contract's Frame (pixels plus the overlay text). */
import type { FileProblem, Frame, ProbeEntry } from '../../src-shared/contracts/dicom';
import type { DecodedFrameMessage } from './worker-protocol';

export function frameFromDecoded(seriesUid: string, i: number, image: { frame: number; count: number }, decoded: DecodedFrameMessage): Frame {
  const { meta, pixels, color, modalityApplied, min, max } = decoded;
  return {
    seriesUid,
    index: i,
    count: image.count,
    sopInstanceUid: meta.sopInstanceUid,
    sopClassUid: meta.sopClassUid,
    instanceNumber: meta.instanceNumber,
    frame: image.frame,
    transferSyntax: meta.transferSyntax,
    rows: meta.rows,
    columns: meta.columns,
    samplesPerPixel: meta.samplesPerPixel,
    photometric: meta.photometric,
    color,
    invert: meta.photometric === 'MONOCHROME1',
    bitsAllocated: meta.bitsAllocated,
    bitsStored: meta.bitsStored,
    pixelRepresentation: meta.pixelRepresentation,
    pixels,
    minPixelValue: min,
    maxPixelValue: max,
    rescaleSlope: modalityApplied ? 1 : meta.rescaleSlope,
    rescaleIntercept: modalityApplied ? 0 : meta.rescaleIntercept,
    rescaleType: meta.rescaleType,
    windows: meta.windows,
    voiLutFunction: meta.voiLutFunction,
    voiLut: meta.voiLut,
    pixelSpacing: meta.pixelSpacing,
    pixelSpacingSource: meta.pixelSpacingSource,
    imagePositionPatient: meta.framePositions[image.frame] ?? null,
    imageOrientationPatient: meta.imageOrientationPatient,
    sliceThickness: meta.sliceThickness,
    frameOfReferenceUid: meta.frameOfReferenceUid,
    overlay: {
      patientName: meta.patientName,
      patientId: meta.patientId,
      studyDate: meta.studyDate,
      studyDescription: meta.studyDescription,
      seriesDescription: meta.seriesDescription,
      seriesNumber: meta.seriesNumber,
      modality: meta.modality,
      institutionName: meta.institutionName,
      patientSex: meta.patientSex,
      patientAge: meta.patientAge,
      accessionNumber: meta.accessionNumber,
      kvp: meta.kvp,
      repetitionTime: meta.repetitionTime,
      echoTime: meta.echoTime,
    },
  };
}

/** A probe entry with nothing known yet about the file (every field null, not ok). */
export function blankProbeEntry(file: string): ProbeEntry {
  return {
    path: file,
    ok: false,
    sopClassUid: null,
    modality: null,
    transferSyntax: null,
    rows: null,
    columns: null,
    frames: null,
    pixelSpacing: null,
    photometric: null,
    min: null,
    max: null,
    mean: null,
  };
}

/** A probe entry for a file that could not be read or decoded. */
export function failedProbe(file: string, problem: FileProblem, error: string): ProbeEntry {
  return { ...blankProbeEntry(file), problem, error };
}
