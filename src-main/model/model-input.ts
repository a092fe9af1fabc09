/**
 * The one mapping from a decoded DICOM frame to the model's 8-bit input, used by every path (the window's
 * ask and generate, the CLI's single file and its series): stored pixels → modality units (rescale) →
 * the task's input window → 0..255, MONOCHROME1 inverted so bright always means dense. The pack
 * manifest's task `inputWindow` decides the window; a caller may only override it explicitly (CLI
 * `--window`), and the window used is recorded with the run.
 */
import type { Frame } from '../../src-shared/contracts/dicom';
import type { TaskSpec } from '../../src-shared/contracts/model-pack';
import { imageFromGray8 } from './model-image';
import type { ModelImage } from './runtime';

export type InputWindow = 'auto' | { center: number; width: number };

/** What the mapping reads from a frame (the `dicom` contract's Frame has it all). */
export type ModalityFrame = Pick<Frame, 'pixels' | 'rescaleSlope' | 'rescaleIntercept' | 'rows' | 'columns' | 'color' | 'invert' | 'pixelSpacing'>;

/** The window actually used: its bounds in modality units and the text recorded with the run. */
export interface ResolvedWindow {
  lo: number;
  hi: number;
  text: string;
}

/** Used when a pack's task names no input window: CT in a wide HU window, anything else by percentiles. */
const MODALITY_DEFAULT_WINDOWS: Record<string, InputWindow> = { CT: { center: 40, width: 2000 } };

/** The input window for a task: the manifest's, else the modality default, else 'auto'. */
export function inputWindowFor(spec: Pick<TaskSpec, 'inputWindow'> | undefined, modality: string): InputWindow {
  return spec?.inputWindow ?? MODALITY_DEFAULT_WINDOWS[modality] ?? 'auto';
}

export function toModalityUnits(frame: Pick<ModalityFrame, 'pixels' | 'rescaleSlope' | 'rescaleIntercept'>): Float32Array {
  const out = new Float32Array(frame.pixels.length);
  const { rescaleSlope: m, rescaleIntercept: b } = frame;
  for (let i = 0; i < out.length; i += 1) out[i] = (frame.pixels[i] ?? 0) * m + b;
  return out;
}

/** The value at the given fraction of the sorted values (nearest rank). */
function percentile(sorted: Float32Array, fraction: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(fraction * (sorted.length - 1))));
  return sorted[i] ?? 0;
}

/** Resolves 'auto' to the slice's 0.5th–99.5th percentile, as the training data did. */
export function resolveWindow(values: Float32Array, window: InputWindow): ResolvedWindow {
  if (window === 'auto') {
    const sorted = Float32Array.from(values).sort();
    const lo = percentile(sorted, 0.005);
    let hi = percentile(sorted, 0.995);
    if (hi <= lo) hi = lo + 1;
    return { lo, hi, text: `auto ${lo.toFixed(1)}..${hi.toFixed(1)} (0.5–99.5th percentile)` };
  }
  const lo = window.center - window.width / 2;
  const hi = window.center + window.width / 2;
  return { lo, hi, text: `W ${window.width} / L ${window.center}` };
}

export function windowTo8bit(values: Float32Array, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(values.length);
  const scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i += 1) {
    const v = ((values[i] ?? 0) - lo) * scale;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/**
 * A frame → the model's input and the window used. A colour frame passes through unwindowed (the
 * workflow refuses colour series before it gets here; the CLI accepts a colour file).
 */
export function frameToModelInput(frame: ModalityFrame, window: InputWindow): { image: ModelImage; window: ResolvedWindow } {
  const spacing = frame.pixelSpacing ? ([frame.pixelSpacing[0], frame.pixelSpacing[1]] as [number, number]) : null;
  if (frame.color) {
    const n = frame.rows * frame.columns * 3;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i += 1) data[i] = Math.max(0, Math.min(255, Math.round(Number(frame.pixels[i] ?? 0))));
    const text = 'colour (no window)';
    return { image: { rgb: { width: frame.columns, height: frame.rows, data }, pixelSpacing: spacing, window: text }, window: { lo: 0, hi: 255, text } };
  }
  const values = toModalityUnits(frame);
  const w = resolveWindow(values, window);
  const gray = windowTo8bit(values, w.lo, w.hi);
  if (frame.invert) for (let i = 0; i < gray.length; i += 1) gray[i] = 255 - gray[i]!;
  return { image: imageFromGray8(gray, frame.rows, frame.columns, spacing, w.text), window: w };
}
