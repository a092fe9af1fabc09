/**
 * One model output as a slice of the derived series: stored values in the output modality's units and
 * the geometry of the input slice at the output's matrix size.
 */
import type { Frame } from '../../src-shared/contracts/dicom';
import type { GenerationTask, TaskSpec } from '../../src-shared/contracts/model-pack';
import type { GenerateResult } from '../model/runtime';
import type { DerivedModality, DerivedSlice } from './derived-dicom';
import { outputToStored } from './intensity';

export function outputModalityOf(task: GenerationTask, spec: TaskSpec, inputModality: string): DerivedModality {
  const declared = spec.output?.modality;
  if (declared === 'CT' || declared === 'MR') return declared;
  if (task === 'ct2mri') return 'MR';
  if (task === 'mri2ct') return 'CT';
  return inputModality === 'CT' ? 'CT' : 'MR';
}

/** `range`: the output's 0..1 mapped to these stored values (the task's, or the input window for 'same'). */
export function derivedSlice(frame: Frame, result: Pick<GenerateResult, 'pixels' | 'rows' | 'cols' | 'outputScale'>, range: [number, number], signed: boolean): DerivedSlice {
  const scale = result.outputScale;
  return {
    pixels: outputToStored(result.pixels, range, signed),
    rows: result.rows,
    columns: result.cols,
    pixelSpacing: frame.pixelSpacing ? [frame.pixelSpacing[0]! / scale, frame.pixelSpacing[1]! / scale] : [1 / scale, 1 / scale],
    imagePositionPatient: outputPosition(frame, scale),
    imageOrientationPatient: (frame.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0]) as DerivedSlice['imageOrientationPatient'],
    ...(frame.sliceThickness !== null ? { sliceThickness: frame.sliceThickness } : {}),
    source: { sopClassUid: frame.sopClassUid, sopInstanceUid: frame.sopInstanceUid },
  };
}

/**
 * Position of the output's first pixel centre. A 4x output covers the same field of view with pixels a
 * quarter the size, so its first centre moves by (1/scale − 1)/2 of an input pixel along rows and columns.
 */
function outputPosition(frame: Frame, scale: number): DerivedSlice['imagePositionPatient'] {
  const ipp = frame.imagePositionPatient ?? [0, 0, 0];
  const iop = frame.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0];
  if (scale === 1 || !frame.pixelSpacing) return [ipp[0] ?? 0, ipp[1] ?? 0, ipp[2] ?? 0];
  const shift = (1 / scale - 1) / 2;
  const rowSpacing = frame.pixelSpacing[0] ?? 1;
  const colSpacing = frame.pixelSpacing[1] ?? 1;
  const out: number[] = [];
  for (let k = 0; k < 3; k += 1) out.push(ipp[k]! + shift * colSpacing * iop[k]! + shift * rowSpacing * iop[k + 3]!);
  return [out[0]!, out[1]!, out[2]!];
}
