/**
 * What one scrape renders: the routes of the table served now, plus what
 * left the table since the previous scrape, once more.
 *
 * A removed endpoint's (or route's) counters would otherwise vanish with
 * the increments it made since the last scrape, and
 * `sum by (service) (rate(mesh_http_requests_total[...]))` would lose them:
 * totals per service would not stay whole across a task replacement. So a
 * series leaves /metrics one scrape after its endpoint left the table,
 * carrying its final values in that scrape. Only counters and histograms
 * are rendered for what left (gauges describe the present).
 */
import type { Endpoint } from '../balancer/endpoint'
import type { RouteStats } from './route-stats'
import type { Route } from '../table/routing-table'
import type { TableSource } from '../table/table-source'

export interface RouteView {
  readonly route: Route
  /** The route itself left the table: render its final counters once, no gauges. */
  readonly retired: boolean
  /** In the table now (empty when retired). */
  readonly endpoints: readonly Endpoint[]
  /** Left this route since the previous scrape: their final counters, once. */
  readonly retiredEndpoints: readonly Endpoint[]
}

/** A route as a scrape saw it; `endpoints` is the balancer's array then (replaced whole when its endpoints change). */
interface Seen { route: Route, endpoints: readonly Endpoint[] }

export class ScrapeViews {
  readonly #tables: TableSource
  #previous = new Map<RouteStats, Seen>()
  #last: RouteView[] = []

  constructor (tables: TableSource) {
    this.#tables = tables
  }

  /** A new scrape's view; remembers what it saw, so the next one knows what left. */
  take (): RouteView[] {
    const views: RouteView[] = []
    const seen = new Map<RouteStats, Seen>()
    for (const entry of this.#tables.current().ports.values()) {
      for (const route of entry.routes) {
        if (seen.has(route.stats)) continue
        const endpoints = route.balancer.endpoints
        seen.set(route.stats, { route, endpoints })
        const before = this.#previous.get(route.stats)
        views.push({ route, retired: false, endpoints, retiredEndpoints: before === undefined ? [] : departed(before.endpoints, endpoints) })
      }
    }
    let served: Set<string> | null = null
    for (const [stats, before] of this.#previous) {
      if (seen.has(stats)) continue
      // A route of the same name and port is served again (a service re-created): one series per label set.
      served ??= new Set(views.map((v) => `${v.route.service}:${v.route.port}`))
      if (served.has(`${stats.service}:${stats.port}`)) continue
      views.push({ route: before.route, retired: true, endpoints: [], retiredEndpoints: [...before.endpoints] })
    }
    this.#previous = seen
    this.#last = views
    return views
  }

  /** The view take() returned last (the other metrics of a scrape that prom-client asks one at a time). */
  last (): RouteView[] {
    return this.#last
  }
}

/** Endpoints seen before and gone now; one whose address is served again by a new endpoint is left out (one series per label set). */
function departed (before: readonly Endpoint[], now: readonly Endpoint[]): Endpoint[] {
  if (before === now || before.length === 0) return []
  const present = new Set<Endpoint>(now)
  let out: Endpoint[] | null = null
  for (const ep of before) {
    if (present.has(ep)) continue
    if (now.some((e) => e.address === ep.address)) continue
    (out ??= []).push(ep)
  }
  return out ?? []
}
