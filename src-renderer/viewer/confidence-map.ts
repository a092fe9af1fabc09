import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { canvasToImagePixel, type CanvasSize, type ViewPlacement } from './physical-sync';

/**
 * Colouring of a generated slice's confidence map (the chosen image tokens' probability, 0..255) over the
 * generated pane: certain pixels stay clear, doubtful ones turn yellow then red, so the image under them
 * stays readable. Pure, so the overlay component only fetches and draws.
 */

/** Colour for a probability in [0,1]: transparent at 1, yellow around 0.5, opaque red at 0. */
export function confidenceColour(p: number): [number, number, number, number] {
  const q = Math.min(1, Math.max(0, 1 - p)); // doubt
  const g = q < 0.5 ? 220 : Math.round(220 * (1 - (q - 0.5) * 2));
  return [255, g, 0, Math.round(200 * q)];
}

/** RGBA of the pane's canvas (every `step`-th canvas pixel, nearest map pixel), transparent off the image. */
export function colouriseConfidence(
  map: { rows: number; cols: number; probability: Uint8Array },
  plane: ImagePlane,
  placement: ViewPlacement,
  canvas: CanvasSize,
  step = 2,
): { width: number; height: number; rgba: Uint8ClampedArray } {
  const width = Math.max(1, Math.ceil(canvas.width / step));
  const height = Math.max(1, Math.ceil(canvas.height / step));
  const rgba = new Uint8ClampedArray(width * height * 4);
  const lut: Array<[number, number, number, number]> = Array.from({ length: 256 }, (_, v) => confidenceColour(v / 255));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = canvasToImagePixel(plane, placement, canvas, { x: (x + 0.5) * step, y: (y + 0.5) * step });
      const c = Math.floor(p.x);
      const r = Math.floor(p.y);
      if (c < 0 || r < 0 || c >= map.cols || r >= map.rows) continue;
      const col = lut[map.probability[r * map.cols + c]!]!;
      rgba.set(col, (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

/** The legend's gradient, from p = 1 (top) to p = 0 (bottom), as a CSS linear-gradient. */
export function confidenceLegendGradient(steps = 16): string {
  const stops = Array.from({ length: steps + 1 }, (_, i) => {
    const [r, g, b, a] = confidenceColour(1 - i / steps);
    return `rgba(${r},${g},${b},${(a / 255).toFixed(3)}) ${((i / steps) * 100).toFixed(1)}%`;
  });
  return `linear-gradient(to bottom, ${stops.join(', ')})`;
}
