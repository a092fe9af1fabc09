import { describe, expect, it } from 'vitest';
import { answerConfidence, gridToGeometry, stepConfidence, summarize, tokenGrid, type StepConfidence } from '../../../src-main/model/confidence';
import { TileBlender } from '../../../src-main/model/tiling';

const logitsOf = (probs: number[]): Float32Array => Float32Array.from(probs.map((p) => Math.log(p) + 3.7)); // any shift: softmax is shift-invariant

describe('stepConfidence', () => {
  it('gives the chosen probability, the entropy in nats and the top alternatives of a hand-made distribution', () => {
    const probs = [0.5, 0.25, 0.125, 0.125];
    const c = stepConfidence(logitsOf(probs), 0, 4, 1, 2);
    expect(c.probability).toBeCloseTo(0.25, 6);
    // H = 0.5·ln2 + 0.25·ln4 + 2·0.125·ln8 = 1.75 ln 2
    expect(c.entropy).toBeCloseTo(1.75 * Math.LN2, 6);
    expect(c.top.map(([id]) => id)).toEqual([0, 1]);
    expect(c.top[0]![1]).toBeCloseTo(0.5, 6);
  });

  it('restricts the softmax to [start, end): tokens outside take no probability', () => {
    // the text tokens 0..1 are huge; over the image range 2..5 the distribution is uniform
    const logits = Float32Array.from([50, 40, 1, 1, 1, 1]);
    const c = stepConfidence(logits, 2, 6, 3, 0);
    expect(c.probability).toBeCloseTo(0.25, 6);
    expect(c.entropy).toBeCloseTo(Math.log(4), 6);
    expect(c.top).toEqual([]);
    expect(stepConfidence(logits, 2, 6, 0, 0).probability).toBe(0);
  });

  it('is 1 and 0 nats for a near-certain choice, stable for huge logits', () => {
    const logits = Float32Array.from([1e4, 0, -1e4, 3]);
    const c = stepConfidence(logits, 0, 4, 0, 1);
    expect(c.probability).toBeCloseTo(1, 9);
    expect(c.entropy).toBeCloseTo(0, 9);
    expect(Number.isFinite(c.entropy)).toBe(true);
  });

  it('keeps the k best in order whatever order they come in', () => {
    const logits = Float32Array.from([0.1, 5, -2, 3, 4.5, 2.9, 0]);
    const c = stepConfidence(logits, 0, 7, 1, 3);
    expect(c.top.map(([id]) => id)).toEqual([1, 4, 3]);
    const total = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
    expect(c.top[2]![1]).toBeCloseTo(Math.exp(3) / total, 6);
  });
});

describe('answerConfidence', () => {
  const step = (probability: number, top: Array<[number, number]> = []): StepConfidence => ({ probability, entropy: 0.1, top });

  it('joins sub-word tokens into words with the product of their probabilities, punctuation in no word', () => {
    const pieces = ['The', ' brain', 'stem', ' is', ' normal', '.', ''];
    const steps = [step(0.9), step(0.8, [[7, 0.8], [8, 0.1]]), step(0.5), step(0.95), step(0.3, [[9, 0.6], [10, 0.3]]), step(0.99), step(0.97)];
    const a = answerConfidence(pieces, steps, (id) => `tok${id}`);
    const text = pieces.join('');
    expect(a.words.map((w) => w.text)).toEqual(['The', 'brainstem', 'is', 'normal']);
    for (const w of a.words) expect(text.slice(w.start, w.end)).toBe(w.text);
    expect(a.words[1]!.probability).toBeCloseTo(0.4, 9);
    expect(a.words[3]!.alternatives).toEqual([{ text: 'tok9', probability: 0.6 }, { text: 'tok10', probability: 0.3 }]);
    const geo = Math.exp(steps.reduce((s, x) => s + Math.log(x.probability), 0) / steps.length);
    expect(a.overall).toBeCloseTo(geo, 9);
    expect(a.tokens).toBe(7);
  });

  it('starts a word after a newline and refuses pieces and steps that do not match', () => {
    const a = answerConfidence(['Yes', '\n', 'no'], [step(1), step(1), step(0.2)], String);
    expect(a.words.map((w) => [w.text, w.start])).toEqual([['Yes', 0], ['no', 4]]);
    expect(() => answerConfidence(['a'], [], String)).toThrow(RangeError);
  });
});

describe('token grid and map', () => {
  it('maps a grid onto a non-square output through the padded square, and summarises per token', () => {
    // 2×2 grid: left column certain, right column unsure
    const g = tokenGrid([step2(1, 0), step2(0.2, 2), step2(1, 0), step2(0.2, 2)], 2);
    const m = gridToGeometry(g, 8, 8, 2, Math.log(4));
    expect([m.rows, m.cols]).toEqual([16, 16]);
    expect(m.probability[0]).toBeCloseTo(1, 6);
    expect(m.probability[15]).toBeCloseTo(0.2, 6);
    expect(m.entropy[8 * 16 + 15]).toBeCloseTo(2, 6);
    const s = summarize(g.probability, g.entropy, Math.log(4));
    expect(s.meanProbability).toBeCloseTo(0.6, 6);
    expect(s.lowFraction).toBe(0.5);
    expect(s.meanEntropyFraction).toBeCloseTo(1 / Math.log(4), 6);
    expect(() => tokenGrid([step2(1, 0)], 2)).toThrow(RangeError);
  });

  it('blends a confidence channel across tiles with the pixel ramps: constant tiles stay constant, overlap is between', () => {
    const b = new TileBlender(4, 6, 4, 2, 1);
    expect(b.count).toBe(2);
    b.add(0, 0, new Float32Array(16).fill(1));
    b.add(0, 1, new Float32Array(16).fill(0));
    const r = b.result();
    expect(r[0]).toBe(1);
    expect(r[5]).toBe(0);
    expect(r[2]! > 0 && r[2]! < 1).toBe(true);
    expect(r[2]! > r[3]!).toBe(true);
  });
});

function step2(probability: number, entropy: number) {
  return { probability, entropy };
}
