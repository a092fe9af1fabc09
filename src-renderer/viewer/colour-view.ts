/**
 * How an RGB image is displayed: brightness, contrast and gamma instead of a window (a window on three
 * channels is a colour cast, not a reading aid). The three become one 256-entry table applied to R, G
 * and B alike (pane-commands.ts hands it to Cornerstone). Pure: no DOM, no Cornerstone.
 */
export interface ColourAdjust {
  /** Added to every channel, −1..1 of full scale. */
  brightness: number;
  /** Slope around mid-grey, 0.1..5. */
  contrast: number;
  /** Display gamma, 0.2..5 (out = in^(1/gamma): above 1 brightens the mid-tones). */
  gamma: number;
}

export const NEUTRAL_COLOUR: ColourAdjust = { brightness: 0, contrast: 1, gamma: 1 };

export function clampColourAdjust(a: ColourAdjust): ColourAdjust {
  const clamp = (v: number, lo: number, hi: number, fallback: number) => (Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback);
  return { brightness: clamp(a.brightness, -1, 1, 0), contrast: clamp(a.contrast, 0.1, 5, 1), gamma: clamp(a.gamma, 0.2, 5, 1) };
}

/** The 256-entry table for 8-bit display samples: contrast around 0.5, then brightness, then gamma. */
export function colourLut(adjust: ColourAdjust): Uint8ClampedArray {
  const { brightness, contrast, gamma } = clampColourAdjust(adjust);
  const lut = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v += 1) {
    const y = Math.min(1, Math.max(0, (v / 255 - 0.5) * contrast + 0.5 + brightness));
    lut[v] = Math.round(255 * y ** (1 / gamma));
  }
  return lut;
}
