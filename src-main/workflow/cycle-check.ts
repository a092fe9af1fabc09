import type { GenerationTask, PackManifest } from '../../src-shared/contracts/model-pack';
import { DomainError } from '../../src-shared/ipc/envelope';
import { workflowErrorCodes } from '../../src-shared/contracts/workflow';
import { grayToPng, imageFromGray8 } from '../model/model-image';
import { resolveWindow, windowTo8bit } from '../model/model-input';
import type { GenerateResult, ModelImage, ModelRuntime } from '../model/runtime';

/**
 * The cycle check of a modality conversion: CT→MRI is converted back MRI→CT (and MRI→CT back to MRI), and
 * the round trip is compared with the input. A model that invents anatomy cannot usually invent it back
 * away, so a large difference flags a slice; a small one proves nothing (a model can be consistently wrong).
 *
 * The generated image goes into the reverse task exactly as a generated series would: to the forward
 * task's output units, then the reverse task's input window. The comparison is inside a body mask (input
 * above 5% of its window: air and background left out), in HU when the input is CT (the input's window and
 * the reverse output's range both give HU), otherwise in fractions of the input's window.
 */
export const CYCLE_REVERSE: Partial<Record<GenerationTask, GenerationTask>> = { ct2mri: 'mri2ct', mri2ct: 'ct2mri' };

/** Pixels darker than this fraction of the input window are outside the body mask. */
const MASK_THRESHOLD = 0.05;

export interface CycleCheck {
  task: GenerationTask;
  reverseTask: GenerationTask;
  unit: 'HU' | 'fraction of input window';
  /** Mean |input − round trip| inside the body mask, in `unit`. */
  meanAbsDifference: number;
  /** Share of the pixels inside the mask. */
  maskFraction: number;
  rows: number;
  cols: number;
  /** |input − round trip| per pixel in `unit`; 0 outside the mask. */
  difference: Float32Array;
  roundTrip: Float32Array;
  reverseMs: number;
}

/**
 * `input`: the model input the forward run saw (8-bit, windowed); `inputWindow`: that window in modality
 * units (null for an image with no units, e.g. a PNG: then fractions).
 */
export async function cycleCheck(
  rt: ModelRuntime,
  task: GenerationTask,
  input: ModelImage,
  forward: GenerateResult,
  inputWindow: { lo: number; hi: number } | null,
  signal?: AbortSignal,
): Promise<CycleCheck> {
  const reverseTask = CYCLE_REVERSE[task];
  const tasks = rt.manifest.tasks as PackManifest['tasks'];
  const fwd = tasks[task];
  const rev = reverseTask ? tasks[reverseTask] : undefined;
  if (!reverseTask || !rev || rev.kind !== 'generation' || !fwd || fwd.kind !== 'generation') {
    throw new DomainError(workflowErrorCodes.taskUnavailable, `A cycle check needs a modality conversion with its reverse in the pack (ct2mri with mri2ct); ${task} has none.`);
  }
  const { rows, cols } = forward;
  if (rows !== input.rgb.height || cols !== input.rgb.width) throw new DomainError(workflowErrorCodes.taskUnavailable, 'A cycle check needs an output at the input geometry (scale 1).');
  // forward output → its units → the reverse task's input window → 8-bit, as a generated series would be read
  const [fLo, fHi] = fwd.output?.range ?? [0, 1];
  const units = new Float32Array(forward.pixels.length);
  for (let i = 0; i < units.length; i++) units[i] = fLo + forward.pixels[i]! * (fHi - fLo);
  const revWindow = resolveWindow(units, rev.inputWindow ?? 'auto');
  const t = performance.now();
  const back = await rt.generate({ task: reverseTask, image: imageFromGray8(windowTo8bit(units, revWindow.lo, revWindow.hi), rows, cols, input.pixelSpacing ?? null, revWindow.text), ...(signal ? { signal } : {}) });
  const reverseMs = performance.now() - t;
  const [rLo, rHi] = rev.output?.range ?? [0, 1];
  // HU only when both ends are HU: the input is CT (a window in HU) and the reverse output is CT
  const inHu = inputWindow !== null && rev.output?.modality === 'CT';
  const difference = new Float32Array(rows * cols);
  let sum = 0;
  let inMask = 0;
  for (let i = 0; i < difference.length; i++) {
    const x = input.rgb.data[i * 3]! / 255;
    if (x <= MASK_THRESHOLD) continue;
    const y = back.pixels[i]!;
    const d = inHu ? Math.abs(inputWindow.lo + x * (inputWindow.hi - inputWindow.lo) - (rLo + y * (rHi - rLo))) : Math.abs(x - y);
    difference[i] = d;
    sum += d;
    inMask++;
  }
  return {
    task,
    reverseTask,
    unit: inHu ? 'HU' : 'fraction of input window',
    meanAbsDifference: inMask ? sum / inMask : 0,
    maskFraction: inMask / difference.length,
    rows,
    cols,
    difference,
    roundTrip: back.pixels,
    reverseMs,
  };
}

/** The difference map as an 8-bit PNG: black 0, white at or above `cycleMapFullScale(unit)`. */
export function cycleDifferencePng(c: Pick<CycleCheck, 'difference' | 'rows' | 'cols' | 'unit'>): Uint8Array {
  const full = cycleMapFullScale(c.unit);
  return new Uint8Array(grayToPng(c.difference.map((d) => Math.min(1, d / full)), c.rows, c.cols));
}

/** White in the difference PNG: 200 HU, or a quarter of the input window. */
export const cycleMapFullScale = (unit: CycleCheck['unit']): number => (unit === 'HU' ? 200 : 0.25);
