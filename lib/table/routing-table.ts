/**
 * The routing table: an immutable snapshot, built off the hot path and
 * swapped whole. A listener holds its PortEntry and reads it once per
 * request (L7) or connection (L4).
 */
import type { Balancer } from '../balancer/round-robin'
import type { RouteStats } from '../metrics/route-stats'
import type { HealthCheckSpec, Protocol, ServiceRouteOptions } from '../registry/types'

/** How a service's endpoints are spoken to, and what a route adds on the way (issue 12). */
export interface RouteOptions {
  /** http1 (undici, the default), or HTTP/2: h2c in clear, h2 over TLS (gRPC end to end). */
  backend: 'http1' | 'h2c' | 'h2'
  /** The cluster certificate an HTTPS port presents for this service by default. */
  cert: string | null
  /** A PROXY protocol header sent to endpoints first (L4), or null. */
  proxyProtocol: 1 | 2 | null
  /** Plain-HTTP requests are redirected to HTTPS (308). */
  redirectHttps: boolean
}

export const DEFAULT_ROUTE_OPTIONS: RouteOptions = Object.freeze({ backend: 'http1', cert: null, proxyProtocol: null, redirectHttps: false })

/** A service's stored options as its routes use them (records from before options existed: the defaults). */
export function routeOptionsOf (stored: ServiceRouteOptions | undefined): RouteOptions {
  if (stored === undefined) return DEFAULT_ROUTE_OPTIONS
  const proxyProtocol = stored.proxyProtocol === 1 || stored.proxyProtocol === 2 ? stored.proxyProtocol : null
  return Object.freeze({ backend: stored.backend, cert: stored.cert, proxyProtocol, redirectHttps: stored.redirectHttps })
}

export class Route {
  readonly service: string
  readonly serviceId: string
  readonly port: number
  readonly target: number
  readonly protocol: Protocol
  readonly hosts: readonly string[]
  readonly balancer: Balancer
  readonly stats: RouteStats
  readonly health: HealthCheckSpec | null
  /** Endpoints the registry lists but which are not healthy (metric). */
  readonly unhealthy: number
  /** Precomputed 503 body. */
  readonly unavailableBody: string
  readonly options: RouteOptions

  constructor (service: string, serviceId: string, port: number, target: number, protocol: Protocol, hosts: readonly string[],
    balancer: Balancer, stats: RouteStats, health: HealthCheckSpec | null, unhealthy: number, options: RouteOptions = DEFAULT_ROUTE_OPTIONS) {
    this.service = service
    this.serviceId = serviceId
    this.port = port
    this.target = target
    this.protocol = protocol
    this.hosts = hosts
    this.balancer = balancer
    this.stats = stats
    this.health = health
    this.unhealthy = unhealthy
    this.unavailableBody = `503 Service Unavailable: no healthy endpoint for service "${service}"\n`
    this.options = options
  }
}

/** Everything published on one port. */
export class PortEntry {
  readonly port: number
  readonly protocol: Protocol
  /** The port's only route when it has no host names; else null. */
  readonly single: Route | null
  readonly exact: ReadonlyMap<string, Route>
  /** `*.example.com` routes by suffix (`.example.com`). */
  readonly wildcards: ReadonlyMap<string, Route>
  readonly routes: readonly Route[]

  constructor (port: number, protocol: Protocol, routes: readonly Route[]) {
    this.port = port
    this.protocol = protocol
    this.routes = routes
    const exact = new Map<string, Route>()
    const wildcards = new Map<string, Route>()
    let single: Route | null = null
    for (const r of routes) {
      if (r.hosts.length === 0) single = r
      for (const h of r.hosts) {
        if (h.startsWith('*.')) wildcards.set(h.slice(1), r)
        else exact.set(h, r)
      }
    }
    this.single = single
    this.exact = exact
    this.wildcards = wildcards
  }

  /** The route for a Host header value (any case, port suffix allowed). */
  lookup (hostHeader: string | undefined): Route | null {
    if (this.single !== null) return this.single
    if (hostHeader === undefined || hostHeader === '') return null
    let host = hostHeader.toLowerCase()
    const colon = host.lastIndexOf(':')
    if (colon !== -1 && host.indexOf(']') < colon) host = host.slice(0, colon)
    if (host.endsWith('.')) host = host.slice(0, -1)
    const hit = this.exact.get(host)
    if (hit !== undefined) return hit
    if (this.wildcards.size === 0) return null
    // Longest matching `*.suffix` first: one map probe per label, not one per wildcard.
    for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const route = this.wildcards.get(host.slice(dot))
      if (route !== undefined) return route
    }
    return null
  }
}

export class RoutingTable {
  readonly rev: number
  /** TCP ports (http, https, tcp, tls) by number. */
  readonly ports: ReadonlyMap<number, PortEntry>
  /** UDP ports by number (a number may be published over TCP and UDP alike, as 53/tcp and 53/udp). */
  readonly udp: ReadonlyMap<number, PortEntry>
  readonly endpointCount: number

  constructor (rev: number, ports: ReadonlyMap<number, PortEntry>, endpointCount: number, udp: ReadonlyMap<number, PortEntry> = new Map()) {
    this.rev = rev
    this.ports = ports
    this.udp = udp
    this.endpointCount = endpointCount
  }

  static empty (): RoutingTable {
    return new RoutingTable(0, new Map(), 0)
  }
}
