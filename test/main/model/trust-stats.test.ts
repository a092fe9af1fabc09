import { describe, expect, it } from 'vitest';
import { calibration, patchMeans, pearson, ranks, spearman } from '../../../src-main/model/trust-stats';

describe('trust evaluation statistics', () => {
  it('ranks with ties at their mean rank; Spearman is 1 for any increasing relation, −1 for a decreasing one', () => {
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, x.map((v) => v ** 3))).toBeCloseTo(1, 12);
    expect(spearman(x, x.map((v) => -Math.exp(v)))).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(0.9934, 4);
    expect(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))).toBe(true);
  });

  it('calibration: a perfectly calibrated set has ECE 0; an overconfident one has ECE = the gap', () => {
    // 10 answers at 0.85 of which 8.5 cannot be right: use 20 at 0.85 with 17 right
    const conf = new Array<number>(20).fill(0.85);
    const right = conf.map((_, i) => i < 17);
    expect(calibration(conf, right).ece).toBeCloseTo(0, 12);
    const over = calibration(new Array<number>(10).fill(0.95), new Array<boolean>(10).fill(false).map((_, i) => i < 5));
    expect(over.ece).toBeCloseTo(0.45, 12);
    expect(over.bins).toEqual([{ from: 0.9, to: 1, n: 10, meanConfidence: 0.95, accuracy: 0.5 }]);
    expect(calibration([1, 0], [true, false]).bins.map((b) => b.n)).toEqual([1, 1]);
  });

  it('patch means cover partial edge patches', () => {
    const v = Float32Array.from([1, 1, 3, 1, 1, 3]); // 2 × 3
    expect(patchMeans(v, 2, 3, 2)).toEqual([1, 3]);
  });
});
