/**
 * A Prometheus metric whose samples are produced at scrape time from plain
 * counters kept elsewhere (prom-client reads it through get()). The hot path
 * never touches prom-client.
 */
import type { Registry } from 'prom-client'
import type { FixedHistogram } from './histogram'

export type Labels = Record<string, string | number>
export interface Sample { value: number, labels: Labels, metricName?: string }
export type MetricType = 'counter' | 'gauge' | 'histogram'
/** How `mesh node start --workers N` merges a metric across worker processes (prom-client aggregators). */
export type Aggregator = 'sum' | 'max' | 'min' | 'first'

export class CollectedMetric {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly aggregator: Aggregator
  readonly #collect: (out: Sample[]) => void

  constructor (name: string, help: string, type: MetricType, collect: (out: Sample[]) => void, aggregator: Aggregator = 'sum') {
    this.name = name
    this.help = help
    this.type = type
    this.#collect = collect
    this.aggregator = aggregator
  }

  async get (): Promise<{ name: string, help: string, type: MetricType, values: Sample[], aggregator: Aggregator }> {
    const values: Sample[] = []
    this.#collect(values)
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset (): void {}

  register (registry: Registry): this {
    registry.registerMetric(this as never)
    return this
  }
}

/** Appends a histogram's samples (cumulative buckets, sum, count) under `name`. */
export function histogramSamples (name: string, h: FixedHistogram, labels: Labels, out: Sample[]): void {
  let acc = 0
  for (let i = 0; i < h.counts.length; i++) {
    acc += h.counts[i]
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < h.bounds.length ? h.bounds[i] : '+Inf' }, value: acc })
  }
  out.push({ metricName: `${name}_sum`, labels, value: h.sum })
  out.push({ metricName: `${name}_count`, labels, value: h.count })
}
