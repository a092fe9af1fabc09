/**
 * Window/level presets and the automatic window. Pure functions: values are in modality units (HU for
 * CT), i.e. after rescale slope/intercept, as Cornerstone's viewport.voi expects.
 */

export interface WindowLevel {
  /** Window centre (level). */
  center: number;
  width: number;
  label: string;
}

/** CT presets on the number keys, as in OHIF/Weasis/Horos. */
export const CT_PRESETS: Readonly<Record<1 | 2 | 3 | 4, WindowLevel>> = {
  1: { center: 40, width: 80, label: 'Brain' },
  2: { center: 40, width: 400, label: 'Soft tissue' },
  3: { center: -600, width: 1500, label: 'Lung' },
  4: { center: 480, width: 2500, label: 'Bone' },
};

/**
 * A window over the 1st–99th percentile of the image's modality values: the MR default (MR has no
 * fixed intensity scale) and the fallback for any image without a window in its file.
 */
export function autoWindow(pixels: ArrayLike<number>, slope = 1, intercept = 0, samplesPerPixel = 1): WindowLevel {
  const n = Math.floor(pixels.length / samplesPerPixel);
  if (n === 0) return { center: 0, width: 1, label: 'Auto' };
  const stride = Math.max(1, Math.floor(n / 65536));
  const sample: number[] = [];
  for (let i = 0; i < n; i += stride) {
    const v = pixels[i * samplesPerPixel];
    if (v !== undefined && Number.isFinite(v)) sample.push(v * slope + intercept);
  }
  if (sample.length === 0) return { center: 0, width: 1, label: 'Auto' };
  sample.sort((a, b) => a - b);
  const at = (q: number) => sample[Math.min(sample.length - 1, Math.max(0, Math.round(q * (sample.length - 1))))] ?? 0;
  let lo = at(0.01);
  let hi = at(0.99);
  if (hi <= lo) {
    lo = sample[0] ?? 0;
    hi = sample[sample.length - 1] ?? 0;
  }
  const width = Math.max(1, hi - lo);
  return { center: (lo + hi) / 2, width, label: 'Auto' };
}

/**
 * What a number key does on an image of a modality: the CT presets for CT; for other modalities (MR,
 * PET, generated images without a calibrated scale) every preset key gives the automatic window.
 */
export function presetFor(slot: 1 | 2 | 3 | 4, modality: string, pixels: ArrayLike<number>, slope: number, intercept: number): WindowLevel {
  if (modality.toUpperCase() === 'CT') return CT_PRESETS[slot];
  return autoWindow(pixels, slope, intercept);
}
