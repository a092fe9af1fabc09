/**
 * From the model's 0..1 output to stored values of the derived series (the input side is
 * model/model-input.ts).
 */

/** Model output in [0,1] → stored values in the output modality's units (HU for CT). */
export function outputToStored(pixels01: Float32Array, range: [number, number], signed: boolean): Int16Array | Uint16Array {
  const [lo, hi] = range;
  const out = signed ? new Int16Array(pixels01.length) : new Uint16Array(pixels01.length);
  const min = signed ? -32768 : 0;
  const max = signed ? 32767 : 65535;
  for (let i = 0; i < pixels01.length; i += 1) {
    const p = Math.min(1, Math.max(0, pixels01[i] ?? 0));
    const v = Math.round(lo + p * (hi - lo));
    out[i] = v < min ? min : v > max ? max : v;
  }
  return out;
}
