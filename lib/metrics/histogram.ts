/**
 * A fixed-bucket histogram whose observe() is a loop over a small array and
 * two additions: no allocation, no label hashing. Exported at scrape time.
 */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class FixedHistogram {
  readonly bounds: readonly number[]
  /** Non-cumulative counts; the last slot is +Inf. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (bounds: readonly number[] = LATENCY_BUCKETS) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && value > b[i]) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }
}

/**
 * The q-quantile of bucket counts (non-cumulative, FixedHistogram.counts'
 * layout) with linear interpolation inside the bucket, as Prometheus'
 * histogram_quantile does; null without observations. An answer in the
 * +Inf bucket is the highest finite bound.
 */
export function quantile (q: number, counts: ArrayLike<number>, bounds: readonly number[]): number | null {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]
  if (total <= 0) return null
  const rank = q * total
  let acc = 0
  for (let i = 0; i < counts.length; i++) {
    const before = acc
    acc += counts[i]
    if (acc >= rank && counts[i] > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]
      const lower = i === 0 ? 0 : bounds[i - 1]
      return lower + (bounds[i] - lower) * ((rank - before) / counts[i])
    }
  }
  return bounds[bounds.length - 1]
}
