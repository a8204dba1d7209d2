/**
 * Builds routing-table snapshots from the registry view, reconciling by key:
 * an endpoint (task id + port) or route (service id + published port) that
 * survives a rebuild keeps its object, so its keep-alive pool, round-robin
 * position, ejection state and counters carry over. An endpoint whose
 * address changed gets a new object and its old pool is closed; a route whose
 * protocol changed gets a new balancer and the old one is detached.
 * Every node's balancers start at a position of their own (roundRobinStart),
 * so the first request to each node does not go to the same endpoint.
 */
import { Balancer } from '../balancer/round-robin'
import { Endpoint, type PoolOptions } from '../balancer/endpoint'
import { RouteStats } from '../metrics/route-stats'
import type { ClusterState } from '../registry/feed'
import type { Protocol, ServiceSpec } from '../registry/types'
import { createLogger } from '../util/log'
import { isHealthy, isRunning, taskPort, tasksByService } from './eligibility'
import { PortEntry, Route, routeOptionsOf, RoutingTable } from './routing-table'

const log = createLogger('table')

interface RouteSlot { balancer: Balancer, stats: RouteStats }

/** Protocols whose port several services share, told apart by name: the Host header (http, https) or the SNI (tls). */
const SHARED_BY_NAME: ReadonlySet<Protocol> = new Set(['http', 'https', 'tls'])

interface PortClaim { protocol: Protocol, routes: Route[], hosts: Set<string>, exclusive: boolean }

export class TableBuilder {
  readonly #poolOptions: PoolOptions
  readonly #endpoints = new Map<string, Endpoint>()
  readonly #routes = new Map<string, RouteSlot>()
  /** Task ids in rotation in the last table built (see eligibility.ts isHealthy). */
  #serving: ReadonlySet<string> = new Set()
  /** This node's id ('' outside a node: every balancer starts at the first endpoint). */
  readonly #nodeId: string

  constructor (poolOptions: PoolOptions, nodeId = '') {
    this.#poolOptions = poolOptions
    this.#nodeId = nodeId
  }

  /** Endpoint objects currently referenced by the table (metrics). */
  get endpoints (): ReadonlyMap<string, Endpoint> { return this.#endpoints }

  build (state: ClusterState): RoutingTable {
    const byService = tasksByService(state)
    const services = [...state.services.values()].sort((a, b) => (a.createdAt - b.createdAt) || (a.name < b.name ? -1 : 1))
    const claims = new Map<number, PortClaim>()
    const udpClaims = new Map<number, PortClaim>()
    const usedEndpoints = new Set<string>()
    const usedRoutes = new Set<string>()
    const serving = new Set<string>()
    let endpointCount = 0
    const start = roundRobinStart(state, this.#nodeId)

    for (const svc of services) {
      const tasks = byService.get(svc.id) ?? []
      const options = routeOptionsOf(svc.options)
      for (const p of svc.ports) {
        const family = p.protocol === 'udp' ? udpClaims : claims
        if (!this.#claim(family, svc, p.published, p.protocol)) continue
        const eps: Endpoint[] = []
        let unhealthy = 0
        for (const task of tasks) {
          if (!isRunning(task, state)) continue
          if (!isHealthy(task, svc, state, this.#serving)) { unhealthy++; continue }
          const port = taskPort(task, p.target)
          const key = `${task.id}:${port}`
          let ep = this.#endpoints.get(key)
          if (ep === undefined || ep.host !== task.host) {
            // Same task and port on another host (an agent re-reported it): the old pool's sockets go to the old address.
            if (ep !== undefined) this.#retire(ep)
            ep = new Endpoint(key, task.id, task.host, port, this.#poolOptions)
            this.#endpoints.set(key, ep)
          }
          serving.add(task.id)
          usedEndpoints.add(key)
          eps.push(ep)
        }
        // Stable order (by endpoint key) so every node walks endpoints in the same order.
        eps.sort((a, b) => (a.key < b.key ? -1 : 1))
        endpointCount += eps.length
        const routeKey = `${svc.id}:${p.published}${p.protocol === 'udp' ? '/udp' : ''}`
        let slot = this.#routes.get(routeKey)
        if (slot === undefined || slot.stats.protocol !== p.protocol) {
          // A port whose protocol changed gets a new balancer; the old one lets go of its endpoints.
          slot?.balancer.detach()
          slot = { balancer: new Balancer(), stats: new RouteStats(svc.name, p.published, p.protocol) }
          this.#routes.set(routeKey, slot)
        }
        usedRoutes.add(routeKey)
        slot.balancer.setEndpoints(eps, start)
        const claim = family.get(p.published) as PortClaim
        claim.routes.push(new Route(svc.name, svc.id, p.published, p.target, p.protocol, svc.hosts, slot.balancer, slot.stats, svc.health ?? null, unhealthy, options))
      }
    }

    for (const [key, slot] of this.#routes) {
      if (!usedRoutes.has(key)) { slot.balancer.detach(); this.#routes.delete(key) }
    }
    for (const [key, ep] of this.#endpoints) {
      if (!usedEndpoints.has(key)) {
        this.#endpoints.delete(key)
        this.#retire(ep)
      }
    }
    this.#serving = serving
    const ports = new Map<number, PortEntry>()
    for (const [port, claim] of claims) if (claim.routes.length > 0) ports.set(port, new PortEntry(port, claim.protocol, claim.routes))
    const udp = new Map<number, PortEntry>()
    for (const [port, claim] of udpClaims) if (claim.routes.length > 0) udp.set(port, new PortEntry(port, claim.protocol, claim.routes))
    return new RoutingTable(state.rev, ports, endpointCount, udp)
  }

  /** Port ownership rules (the CLI enforces them; this guards against records written by anything else). */
  #claim (claims: Map<number, PortClaim>, svc: ServiceSpec, port: number, protocol: Protocol): boolean {
    const hosts = svc.hosts
    const existing = claims.get(port)
    if (existing === undefined) {
      claims.set(port, { protocol, routes: [], hosts: new Set(hosts), exclusive: hosts.length === 0 || !SHARED_BY_NAME.has(protocol) })
      return true
    }
    let why = ''
    if (existing.protocol !== protocol) why = `it is published as ${existing.protocol}`
    else if (existing.exclusive || hosts.length === 0 || !SHARED_BY_NAME.has(protocol)) why = 'another service owns it'
    else if (hosts.some((h) => existing.hosts.has(h))) why = 'a host name overlaps'
    if (why !== '') {
      log.once(`conflict ${svc.id}:${port}`, 'warn', `service "${svc.name}" cannot publish port ${port}: ${why}; first-created service keeps it`)
      return false
    }
    for (const h of hosts) existing.hosts.add(h)
    return true
  }

  /** Closes an endpoint's pool once its in-flight requests finish. */
  #retire (ep: Endpoint): void {
    ep.close().catch((err: unknown) => { log.debug('closing the pool of %s failed: %s', ep.address, (err as Error).message) })
  }

  async close (): Promise<void> {
    for (const slot of this.#routes.values()) slot.balancer.detach()
    this.#routes.clear()
    await Promise.all([...this.#endpoints.values()].map(async (ep) => await ep.close()))
    this.#endpoints.clear()
  }
}

/**
 * Where this node's balancers start: its rank among the cluster's node ids
 * (so N nodes in front of N endpoints start at N different ones), or a hash
 * of its id while the registry does not list it yet.
 */
export function roundRobinStart (state: Pick<ClusterState, 'nodes'>, nodeId: string): number {
  if (nodeId === '') return 0
  const rank = [...state.nodes.keys()].sort().indexOf(nodeId)
  if (rank >= 0) return rank
  let h = 0x811c9dc5 // FNV-1a
  for (let i = 0; i < nodeId.length; i++) h = Math.imul(h ^ nodeId.charCodeAt(i), 0x01000193) >>> 0
  return h
}
