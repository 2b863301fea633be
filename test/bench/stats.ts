/** Rates and latency percentiles, computed from every sample (no histogram buckets). */
export interface Summary {
  /** Completed operations per second in the measured window. */
  rate: number;
  count: number;
  seconds: number;
  p50: number;
  p99: number;
  mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(count: number, seconds: number, latenciesMs: number[]): Summary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const list = Array.from(sorted);
  const mean = list.length ? list.reduce((a, b) => a + b, 0) / list.length : Number.NaN;
  return { rate: seconds > 0 ? count / seconds : 0, count, seconds, p50: percentile(list, 50), p99: percentile(list, 99), mean };
}
