import type { ConfidenceMap, ConfidenceSummary } from '../model/confidence';
import type { ConfidenceMapView, ImageConfidenceFigures } from '../../src-shared/contracts/workflow';

/**
 * Confidence maps as the case history keeps them: one JSON artifact per generated slice, with both
 * channels quantised to 8 bits (probability × 255, entropy ÷ ln(candidates) × 255): a map is for seeing
 * where the model hesitated, and 1/255 is finer than any colour scale shows. Recorded as a separate
 * 'file' output of the run, so the DICOM export of the series copies only its slices.
 */
export const CONFIDENCE_MAP_LABEL = 'Confidence map';
export const ANSWER_CONFIDENCE_LABEL = 'Answer confidence';
export const CYCLE_DIFFERENCE_LABEL = 'Cycle difference';
export const CONFIDENCE_MEDIA_TYPE = 'application/json';
const FORMAT = 'healthgpt-confidence-map/1';

export const confidenceMapName = (k: number): string => `${String(k + 1).padStart(4, '0')}.confidence.json`;
/** The artifact name of slice k's cycle difference map (a PNG). */
export const cycleDifferenceName = (k: number): string => `${String(k + 1).padStart(4, '0')}.cycle-difference.png`;

interface StoredMap {
  format: typeof FORMAT;
  rows: number;
  cols: number;
  maxEntropy: number;
  summary: ConfidenceSummary;
  probability: string;
  entropy: string;
}

function quantise(values: Float32Array, scale: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((values[i]! / scale) * 255)));
  return out;
}

export function encodeConfidenceMap(map: ConfidenceMap & { summary: ConfidenceSummary }): Uint8Array {
  const stored: StoredMap = {
    format: FORMAT,
    rows: map.rows,
    cols: map.cols,
    maxEntropy: map.maxEntropy,
    summary: map.summary,
    probability: Buffer.from(quantise(map.probability, 1)).toString('base64'),
    entropy: Buffer.from(quantise(map.entropy, map.maxEntropy || 1)).toString('base64'),
  };
  return new Uint8Array(Buffer.from(JSON.stringify(stored)));
}

export function decodeConfidenceMap(bytes: Uint8Array): ConfidenceMapView & { maxEntropy: number } {
  const s = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredMap;
  if (s.format !== FORMAT) throw new Error(`not a confidence map (${String(s.format)})`);
  const probability = new Uint8Array(Buffer.from(s.probability, 'base64'));
  const entropy = new Uint8Array(Buffer.from(s.entropy, 'base64'));
  if (probability.length !== s.rows * s.cols || entropy.length !== s.rows * s.cols) throw new Error('confidence map has the wrong number of values');
  return { rows: s.rows, cols: s.cols, probability, entropy, summary: s.summary, maxEntropy: s.maxEntropy };
}

/** Mean of per-slice figures weighted by their token counts (equal per slice: same grid and tiling). */
export function meanFigures(all: ConfidenceSummary[]): ImageConfidenceFigures | undefined {
  if (all.length === 0) return undefined;
  const mean = (k: keyof ConfidenceSummary) => all.reduce((s, f) => s + f[k], 0) / all.length;
  return { meanProbability: mean('meanProbability'), meanEntropy: mean('meanEntropy'), meanEntropyFraction: mean('meanEntropyFraction'), lowFraction: mean('lowFraction') };
}
