/**
 * This node's traffic per endpoint, over a sliding window: requests per
 * second, share of 5xx answers and p99 latency, from the plain counters the
 * hot path keeps (Endpoint.responses and Endpoint.duration). Sampled once a
 * tick while someone watches the dashboard; nothing runs otherwise.
 */
import type { Endpoint } from '../balancer/endpoint'
import { quantile } from '../metrics/histogram'
import type { TableSource } from '../table/table-source'
import { isHttp } from '../registry/types'

export interface EndpointStat {
  task: string
  service: string
  /** Published port. */
  port: number
  address: string
  rps: number
  /** 5xx answers / all answers in the window; null without answers. */
  errorRate: number | null
  p99Ms: number | null
  ejected: boolean
}

interface Sample { at: number, responses: number, errors: number, buckets: Float64Array }

export class EndpointRates {
  readonly #tables: TableSource
  readonly #window: number
  readonly #samples = new Map<Endpoint, Map<string, Sample[]>>()

  /** `window`: how many samples back a rate looks (with 1 s ticks, seconds). */
  constructor (tables: TableSource, window = 10) {
    this.#tables = tables
    this.#window = window
  }

  sample (now = Date.now()): EndpointStat[] {
    const out: EndpointStat[] = []
    const seen = new Set<Endpoint>()
    for (const entry of this.#tables.current().ports.values()) {
      for (const r of entry.routes) {
        if (!isHttp(r.protocol)) continue
        const routeKey = `${r.service}:${r.port}`
        for (const ep of r.balancer.endpoints) {
          seen.add(ep)
          let byRoute = this.#samples.get(ep)
          if (byRoute === undefined) this.#samples.set(ep, byRoute = new Map())
          let ring = byRoute.get(routeKey)
          if (ring === undefined) byRoute.set(routeKey, ring = [])
          const s: Sample = { at: now, responses: total(ep.responses), errors: ep.responses[5], buckets: Float64Array.from(ep.duration.counts) }
          ring.push(s)
          if (ring.length > this.#window + 1) ring.shift()
          out.push(stat(ep, r.service, r.port, ring[0], s))
        }
      }
    }
    for (const ep of this.#samples.keys()) if (!seen.has(ep)) this.#samples.delete(ep)
    return out
  }
}

function total (responses: Float64Array): number {
  let n = 0
  for (let c = 1; c < responses.length; c++) n += responses[c]
  return n
}

function stat (ep: Endpoint, service: string, port: number, from: Sample, to: Sample): EndpointStat {
  const seconds = (to.at - from.at) / 1000
  const answered = to.responses - from.responses
  const delta = new Float64Array(to.buckets.length)
  for (let i = 0; i < delta.length; i++) delta[i] = to.buckets[i] - from.buckets[i]
  const p99 = quantile(0.99, delta, ep.duration.bounds)
  return {
    task: ep.taskId,
    service,
    port,
    address: ep.address,
    rps: seconds > 0 ? answered / seconds : 0,
    errorRate: answered > 0 ? (to.errors - from.errors) / answered : null,
    p99Ms: p99 === null ? null : p99 * 1000,
    ejected: ep.ejected
  }
}
