/** One measured figure. Every benchmark module returns a list of these; bench/run.ts prints and saves them. */
export interface BenchRow {
  benchmark: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
