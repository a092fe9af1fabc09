/**
 * The statistics of the trust evaluation: does the model's own uncertainty go with its real error?
 * Spearman rank correlation (ties get their mean rank), and calibration of answer confidence against
 * correctness: reliability bins and the expected calibration error (bin-weighted |accuracy − confidence|).
 */

/** Ranks 1..n, tied values sharing their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]![1]] = mean;
    i = j + 1;
  }
  return r;
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('pearson: lengths differ');
  const n = a.length;
  if (n < 2) return Number.NaN;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

export const spearman = (a: readonly number[], b: readonly number[]): number => pearson(ranks(a), ranks(b));

export interface ReliabilityBin {
  from: number;
  to: number;
  n: number;
  meanConfidence: number;
  accuracy: number;
}

/** Equal-width confidence bins over [0,1]; ECE = Σ n_b/N · |accuracy_b − confidence_b|. */
export function calibration(confidence: readonly number[], correct: readonly boolean[], bins = 10): { ece: number; bins: ReliabilityBin[] } {
  if (confidence.length !== correct.length) throw new RangeError('calibration: lengths differ');
  const acc = Array.from({ length: bins }, (_, b) => ({ from: b / bins, to: (b + 1) / bins, n: 0, conf: 0, ok: 0 }));
  confidence.forEach((c, i) => {
    const b = acc[Math.min(bins - 1, Math.max(0, Math.floor(c * bins)))]!;
    b.n++;
    b.conf += c;
    b.ok += correct[i] ? 1 : 0;
  });
  const n = confidence.length;
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (const b of acc) {
    if (b.n === 0) continue;
    const meanConfidence = b.conf / b.n;
    const accuracy = b.ok / b.n;
    ece += (b.n / n) * Math.abs(accuracy - meanConfidence);
    out.push({ from: b.from, to: b.to, n: b.n, meanConfidence, accuracy });
  }
  return { ece, bins: out };
}

/** Means of `values` (rows × cols) over size × size patches (partial patches at the edges included). */
export function patchMeans(values: ArrayLike<number>, rows: number, cols: number, size: number): number[] {
  const pr = Math.ceil(rows / size);
  const pc = Math.ceil(cols / size);
  const sum = new Float64Array(pr * pc);
  const cnt = new Float64Array(pr * pc);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const k = Math.floor(r / size) * pc + Math.floor(c / size);
      sum[k] = sum[k]! + values[r * cols + c]!;
      cnt[k] = cnt[k]! + 1;
    }
  return Array.from(sum, (s, k) => s / cnt[k]!);
}
