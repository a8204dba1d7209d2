/**
 * Every label set a route's samples use, made once per route (RouteStats
 * lives as long as the route) and per endpoint of it, so a scrape at 1,000
 * services only concatenates ready strings.
 */
import type { Endpoint } from '../balancer/endpoint'
import { bucketLabels } from './collected'
import { LATENCY_BUCKETS } from './histogram'
import { LabelSet } from './label-set'
import { UPSTREAM_ERROR_KINDS, type RouteStats } from './route-stats'

/** Status classes by index 1..5 (the hot path counts `status / 100 | 0`). */
export const CODE_CLASSES = ['', '1xx', '2xx', '3xx', '4xx', '5xx'] as const

export class RouteLabels {
  /** service, port */
  readonly base: LabelSet
  readonly durationBuckets: readonly LabelSet[]
  /** Answers of the proxy itself: endpoint "none", code_class by index 1..5. */
  readonly generated: readonly LabelSet[]
  /** By UPSTREAM_ERROR_KINDS index. */
  readonly errors: readonly LabelSet[]
  readonly healthy: LabelSet
  readonly ejected: LabelSet
  readonly unhealthy: LabelSet
  readonly bytesIn: LabelSet
  readonly bytesOut: LabelSet
  readonly #endpoints = new WeakMap<Endpoint, readonly LabelSet[]>()

  constructor (stats: RouteStats) {
    this.base = new LabelSet({ service: stats.service, port: stats.port })
    this.durationBuckets = bucketLabels(this.base, LATENCY_BUCKETS)
    this.generated = CODE_CLASSES.map((c) => this.base.with({ endpoint: 'none', code_class: c }))
    this.errors = UPSTREAM_ERROR_KINDS.map((kind) => this.base.with({ kind }))
    this.healthy = this.base.with({ health: 'healthy' })
    this.ejected = this.base.with({ health: 'ejected' })
    this.unhealthy = this.base.with({ health: 'unhealthy' })
    this.bytesIn = this.base.with({ direction: 'in' })
    this.bytesOut = this.base.with({ direction: 'out' })
  }

  /** endpoint, code_class by index 1..5, for one endpoint of this route. */
  endpoint (ep: Endpoint): readonly LabelSet[] {
    let sets = this.#endpoints.get(ep)
    if (sets === undefined) {
      const base = this.base.with({ endpoint: ep.address })
      this.#endpoints.set(ep, sets = CODE_CLASSES.map((c) => base.with({ code_class: c })))
    }
    return sets
  }
}

const cache = new WeakMap<RouteStats, RouteLabels>()

export function routeLabels (stats: RouteStats): RouteLabels {
  let labels = cache.get(stats)
  if (labels === undefined) cache.set(stats, labels = new RouteLabels(stats))
  return labels
}
