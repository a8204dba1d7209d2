/**
 * Metrics whose samples are produced at scrape time from plain counters kept
 * elsewhere: the hot path never touches prom-client. One definition
 * (MetricDef) feeds both renderers: the node's own text renderer
 * (exposition.ts, the /metrics page of a single-process node) and
 * prom-client (CollectedMetric below: `--workers N` workers, whose samples
 * the primary aggregates through prom-client's AggregatorRegistry).
 */
import type { Registry } from 'prom-client'
import type { FixedHistogram } from './histogram'
import { LabelSet, type Labels } from './label-set'
import type { ScrapeViews, RouteView } from './scrape-view'

export type { Labels }
export type MetricType = 'counter' | 'gauge' | 'histogram'
/** How `mesh node start --workers N` merges a metric across worker processes (prom-client aggregators). */
export type Aggregator = 'sum' | 'max' | 'min' | 'first'

/** One sample: its labels, its value, and a name suffix (`_bucket`, `_sum`, `_count`) for histograms. */
export type Emit = (labels: LabelSet, value: number, suffix?: string) => void

export interface MetricDef {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly aggregator: Aggregator
  /**
   * Emits every sample; `routes` is this scrape's view of the routes
   * (scrape-view.ts). A metric with `perRoute` emits only from `routes`, so
   * a renderer may call it on consecutive slices of them.
   */
  readonly collect: (emit: Emit, routes: readonly RouteView[]) => void
  readonly perRoute: boolean
}

export function metricDef (name: string, help: string, type: MetricType, collect: MetricDef['collect'], aggregator: Aggregator = 'sum', perRoute = false): MetricDef {
  return { name, help, type, aggregator, collect, perRoute }
}

/** A metric whose samples all come from the scrape's routes (see MetricDef.perRoute). */
export function routeMetricDef (name: string, help: string, type: MetricType, collect: MetricDef['collect'], aggregator: Aggregator = 'sum'): MetricDef {
  return metricDef(name, help, type, collect, aggregator, true)
}

/** The label sets of a histogram's buckets (base labels + `le`), made once per owner. */
export function bucketLabels (base: LabelSet, bounds: readonly number[]): LabelSet[] {
  const out: LabelSet[] = []
  for (let i = 0; i <= bounds.length; i++) out.push(base.with({ le: i < bounds.length ? bounds[i] : '+Inf' }))
  return out
}

/** Emits a histogram's samples (cumulative buckets, sum, count); `buckets` from bucketLabels(labels, h.bounds). */
export function emitHistogram (emit: Emit, h: FixedHistogram, labels: LabelSet, buckets: readonly LabelSet[]): void {
  let acc = 0
  for (let i = 0; i < h.counts.length; i++) {
    acc += h.counts[i]
    emit(buckets[i], acc, '_bucket')
  }
  emit(labels, h.sum, '_sum')
  emit(labels, h.count, '_count')
}

interface PromSample { value: number, labels: Labels, metricName?: string }

/** A MetricDef registered in a prom-client Registry (prom-client reads it through get()). */
export class CollectedMetric {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly aggregator: Aggregator
  readonly #def: MetricDef
  readonly #views: ScrapeViews | null
  readonly #startsScrape: boolean

  /**
   * `startsScrape`: this metric's get() takes a new view of the routes
   * (the first metric registered; prom-client asks them in registration
   * order), the others reuse it, so a scrape sees one view.
   */
  constructor (def: MetricDef, views: ScrapeViews | null, startsScrape = false) {
    this.name = def.name
    this.help = def.help
    this.type = def.type
    this.aggregator = def.aggregator
    this.#def = def
    this.#views = views
    this.#startsScrape = startsScrape
  }

  async get (): Promise<{ name: string, help: string, type: MetricType, values: PromSample[], aggregator: Aggregator }> {
    const values: PromSample[] = []
    const name = this.name
    this.#def.collect((labels, value, suffix) => {
      values.push(suffix === undefined ? { labels: labels.labels, value } : { labels: labels.labels, value, metricName: name + suffix })
    }, this.#views === null ? [] : this.#startsScrape ? this.#views.take() : this.#views.last())
    return { name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset (): void {}

  register (registry: Registry): this {
    registry.registerMetric(this as never)
    return this
  }
}
