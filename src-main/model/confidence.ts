/**
 * How sure the model was, from the logits it already computed: for each decoding step, the probability
 * of the chosen token and the entropy of the softmax over the range the choice was made in (the image
 * tokens for generation, the whole vocabulary for text), plus the top alternatives for text.
 *
 * `stepConfidence` runs inside the engine worker (ort-engine.ts builds that worker from source text), so it
 * takes no imports and calls nothing outside itself. Everything else here runs in the main process.
 */
import { squareToGeometry } from './image-ops';

/** One step's figures. `top`: [token, probability] pairs, most probable first (empty when topK is 0). */
export interface StepConfidence {
  probability: number;
  /** Shannon entropy in nats of the softmax over [start, end). */
  entropy: number;
  top: Array<[number, number]>;
}

/**
 * Softmax over logits[start..end) (numerically stable: shifted by the maximum), the probability of
 * `chosen`, the entropy (in one pass after the maximum) and the topK tokens.
 * Self-contained on purpose (see the file comment).
 */
export function stepConfidence(logits: ArrayLike<number>, start: number, end: number, chosen: number, topK: number): StepConfidence {
  let max = -Infinity;
  for (let i = start; i < end; i++) if (logits[i]! > max) max = logits[i]!;
  let z = 0;
  let weighted = 0;
  // top-k kept sorted descending by logit; a candidate is only inserted when it beats the smallest kept
  const topIds: number[] = [];
  const topLogits: number[] = [];
  for (let i = start; i < end; i++) {
    const d = logits[i]! - max;
    const e = Math.exp(d);
    z += e;
    if (e > 0) weighted += e * d;
    if (topK > 0 && (topIds.length < topK || logits[i]! > topLogits[topLogits.length - 1]!)) {
      let at = topLogits.length;
      while (at > 0 && topLogits[at - 1]! < logits[i]!) at--;
      topIds.splice(at, 0, i);
      topLogits.splice(at, 0, logits[i]!);
      if (topIds.length > topK) {
        topIds.pop();
        topLogits.pop();
      }
    }
  }
  const inRange = chosen >= start && chosen < end;
  const probability = inRange ? Math.exp(logits[chosen]! - max) / z : 0;
  // H = −Σ p log p with p = e^d / z: H = log z − Σ e^d · d / z
  const entropy = Math.max(0, Math.log(z) - weighted / z);
  const top: Array<[number, number]> = [];
  for (let k = 0; k < topIds.length; k++) top.push([topIds[k]!, Math.exp(topLogits[k]! - max) / z]);
  return { probability, entropy, top };
}

/** Per image token (raster order of the VQ grid): probability of the chosen token and entropy (nats). */
export interface TokenGrid {
  grid: number;
  probability: Float32Array;
  entropy: Float32Array;
}

export function tokenGrid(steps: ReadonlyArray<{ probability: number; entropy: number }>, grid: number): TokenGrid {
  if (steps.length !== grid * grid) throw new RangeError(`${steps.length} steps for a ${grid}×${grid} token grid`);
  const probability = new Float32Array(steps.length);
  const entropy = new Float32Array(steps.length);
  steps.forEach((s, i) => {
    probability[i] = s.probability;
    entropy[i] = s.entropy;
  });
  return { grid, probability, entropy };
}

/**
 * A confidence map at an output's geometry (rows × cols, row-major): what the figures say about each output
 * pixel, i.e. the token grid resampled as the generated pixels were (bilinear) and tiles blended as the
 * pixels were. `maxEntropy` = ln(number of candidates): the entropy of a uniform guess, for scaling.
 */
export interface ConfidenceMap {
  rows: number;
  cols: number;
  probability: Float32Array;
  entropy: Float32Array;
  maxEntropy: number;
}

/**
 * The token grid at the output's geometry: the grid covers the square the input was padded to, as the VQ
 * decoder's pixels do, so it is resampled exactly as they are (squareToGeometry, bilinear).
 */
export function gridToGeometry(g: TokenGrid, rows: number, cols: number, scale: number, maxEntropy: number): ConfidenceMap {
  return {
    rows: rows * scale,
    cols: cols * scale,
    probability: squareToGeometry(g.probability, g.grid, rows, cols, scale),
    entropy: squareToGeometry(g.entropy, g.grid, rows, cols, scale),
    maxEntropy,
  };
}

/** Summary figures of a map or a token list. */
export interface ConfidenceSummary {
  meanProbability: number;
  meanEntropy: number;
  /** Entropy as a fraction of a uniform guess's (0: certain, 1: no idea). */
  meanEntropyFraction: number;
  /** Fraction of tokens whose chosen token had probability below LOW_PROBABILITY. */
  lowFraction: number;
}

/** Below this probability a token or word counts as low confidence (highlighted, counted in lowFraction). */
export const LOW_PROBABILITY = 0.5;

export function summarize(probability: ArrayLike<number>, entropy: ArrayLike<number>, maxEntropy: number): ConfidenceSummary {
  const n = probability.length;
  if (n === 0) return { meanProbability: 0, meanEntropy: 0, meanEntropyFraction: 0, lowFraction: 0 };
  let p = 0;
  let h = 0;
  let low = 0;
  for (let i = 0; i < n; i++) {
    p += probability[i]!;
    h += entropy[i]!;
    if (probability[i]! < LOW_PROBABILITY) low++;
  }
  return { meanProbability: p / n, meanEntropy: h / n, meanEntropyFraction: maxEntropy > 0 ? h / n / maxEntropy : 0, lowFraction: low / n };
}

/** One word of an answer: its characters in the text, the product of its tokens' probabilities, alternatives. */
export interface WordConfidence {
  text: string;
  /** Offsets in the answer text, [start, end). */
  start: number;
  end: number;
  probability: number;
  /** The most probable first tokens at the word's first step, as text. */
  alternatives: Array<{ text: string; probability: number }>;
}

export interface AnswerConfidence {
  /** Geometric mean of the tokens' probabilities (exp of the mean log-probability). */
  overall: number;
  meanEntropy: number;
  tokens: number;
  words: WordConfidence[];
}

/**
 * Groups an answer's tokens into words. `pieces[i]` is the text token i added to the answer (empty for
 * special tokens such as the end token). A piece starting with whitespace starts a word; one without
 * continues the word before (sub-word tokens); punctuation belongs to no word and ends the one before. A
 * word's probability is the product of its tokens' (the chance the model gave the whole word, given what
 * came before). The overall figure counts every generated token, the end token included.
 */
export function answerConfidence(
  pieces: readonly string[],
  steps: ReadonlyArray<StepConfidence>,
  tokenText: (id: number) => string,
): AnswerConfidence {
  if (pieces.length !== steps.length) throw new RangeError(`${pieces.length} pieces for ${steps.length} steps`);
  const words: WordConfidence[] = [];
  let offset = 0;
  let logSum = 0;
  let hSum = 0;
  let current: WordConfidence | null = null;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const s = steps[i]!;
    logSum += Math.log(Math.max(s.probability, 1e-12));
    hSum += s.entropy;
    const lead = /^\s*/.exec(piece)![0].length;
    const body = piece.slice(lead);
    if (body.length === 0 || !/[\p{L}\p{N}]/u.test(body)) {
      if (piece.length > 0) current = null;
    } else if (current && lead === 0) {
      current.text += body;
      current.end = offset + piece.length;
      current.probability *= s.probability;
    } else {
      current = { text: body, start: offset + lead, end: offset + piece.length, probability: s.probability, alternatives: s.top.map(([id, p]) => ({ text: tokenText(id), probability: p })) };
      words.push(current);
    }
    offset += piece.length;
  }
  const n = steps.length;
  return { overall: n ? Math.exp(logSum / n) : 0, meanEntropy: n ? hSum / n : 0, tokens: n, words };
}
