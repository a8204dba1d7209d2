/**
 * The node's Prometheus registries. Every data-plane metric is read at scrape
 * time from counters the hot path keeps as plain numbers; prom-client's own
 * label machinery is never touched per request.
 *
 * Data-plane metrics live where the listeners are (the node process, or each
 * worker with --workers N); control metrics (probes) where the prober runs.
 */
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Prober } from '../health/prober'
import type { ListenerSet } from '../proxy/listeners'
import { L7Listener } from '../proxy/l7-listener'
import type { RegistryFeed } from '../registry/feed'
import type { TableSource } from '../table/table-source'
import type { Route } from '../table/routing-table'
import { CollectedMetric, histogramSamples, type Aggregator, type Sample } from './collected'
import { UPSTREAM_ERROR_KINDS } from './route-stats'

export interface DataPlaneSources {
  feed: RegistryFeed
  tables: TableSource
  listeners: ListenerSet
  passive: PassiveHealth
}

const CLASSES = ['', '1xx', '2xx', '3xx', '4xx', '5xx']

type Define = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: (out: Sample[]) => void, aggregator?: Aggregator) => void

function definer (registry: Registry): Define {
  return (name, help, type, collect, aggregator) => { new CollectedMetric(name, help, type, collect, aggregator).register(registry) }
}

export function createRegistry (node: string, processMetrics: boolean): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ node })
  if (processMetrics) collectDefaultMetrics({ register: registry })
  return registry
}

export function addControlMetrics (registry: Registry, prober: Prober): void {
  definer(registry)('mesh_health_probes_total', 'Active checks run by this node (it owns the endpoints it probes).', 'counter', (out) => { out.push({ labels: {}, value: prober.probes }) })
}

export function addDataPlaneMetrics (registry: Registry, src: DataPlaneSources): void {
  const m = definer(registry)
  const routes = (): Route[] => {
    const out: Route[] = []
    for (const entry of src.tables.current().ports.values()) for (const r of entry.routes) out.push(r)
    return out
  }

  m('mesh_http_requests_total', 'HTTP requests by service, endpoint and status class (endpoint "none": answered by the proxy itself).', 'counter', (out) => {
    for (const r of routes()) {
      for (const ep of r.balancer.endpoints) {
        for (let c = 1; c <= 5; c++) if (ep.responses[c] > 0) out.push({ labels: { service: r.service, port: r.port, endpoint: ep.address, code: CLASSES[c] }, value: ep.responses[c] })
      }
      for (let c = 1; c <= 5; c++) if (r.stats.generated[c] > 0) out.push({ labels: { service: r.service, port: r.port, endpoint: 'none', code: CLASSES[c] }, value: r.stats.generated[c] })
    }
  })
  m('mesh_http_request_duration_seconds', 'HTTP request duration, arrival to last response byte.', 'histogram', (out) => {
    // A route that never forwarded a request has no series (like prom-client's labelled histograms):
    // a node publishing thousands of idle services would otherwise render thousands of empty ones per scrape.
    for (const r of routes()) if (r.protocol === 'http' && r.stats.duration.count > 0) histogramSamples('mesh_http_request_duration_seconds', r.stats.duration, { service: r.service, port: r.port }, out)
  })
  m('mesh_upstream_errors_total', 'Upstream errors by kind (connect, timeout, reset, protocol).', 'counter', (out) => {
    for (const r of routes()) {
      UPSTREAM_ERROR_KINDS.forEach((kind, i) => { if (r.stats.upstreamErrors[i] > 0) out.push({ labels: { service: r.service, port: r.port, kind }, value: r.stats.upstreamErrors[i] }) })
    }
  })
  m('mesh_tcp_connections_total', 'L4 connections accepted.', 'counter', (out) => {
    for (const r of routes()) if (r.protocol === 'tcp') out.push({ labels: { service: r.service, port: r.port }, value: r.stats.tcpConnections })
  })
  m('mesh_tcp_connections_active', 'L4 connections open now.', 'gauge', (out) => {
    for (const r of routes()) if (r.protocol === 'tcp') out.push({ labels: { service: r.service, port: r.port }, value: r.stats.tcpActive })
  })
  m('mesh_tcp_bytes_total', 'L4 bytes by direction (in = from clients, out = to clients), counted when connections close.', 'counter', (out) => {
    for (const r of routes()) {
      if (r.protocol !== 'tcp') continue
      out.push({ labels: { service: r.service, port: r.port, direction: 'in' }, value: r.stats.bytesIn })
      out.push({ labels: { service: r.service, port: r.port, direction: 'out' }, value: r.stats.bytesOut })
    }
  })
  m('mesh_endpoints', 'Endpoints by health: healthy (in rotation), ejected (passive, local), unhealthy (active check).', 'gauge', (out) => {
    for (const r of routes()) {
      let ejected = 0
      for (const ep of r.balancer.endpoints) if (ep.ejected) ejected++
      out.push({ labels: { service: r.service, port: r.port, health: 'healthy' }, value: r.balancer.endpoints.length - ejected })
      out.push({ labels: { service: r.service, port: r.port, health: 'ejected' }, value: ejected })
      out.push({ labels: { service: r.service, port: r.port, health: 'unhealthy' }, value: r.unhealthy })
    }
  }, 'max')
  m('mesh_ejections_total', 'Passive ejections on this node.', 'counter', (out) => { out.push({ labels: {}, value: src.passive.ejections }) })
  m('registry_up', '1 when the Redis registry is reachable.', 'gauge', (out) => { out.push({ labels: {}, value: src.feed.up ? 1 : 0 }) }, 'min')
  m('mesh_registry_revision', 'Registry revision of the table this node serves.', 'gauge', (out) => { out.push({ labels: {}, value: src.tables.current().rev }) }, 'min')
  m('mesh_registry_last_sync_seconds', 'Seconds since this node last heard from the registry.', 'gauge', (out) => {
    out.push({ labels: {}, value: src.feed.lastSyncAt === 0 ? -1 : (Date.now() - src.feed.lastSyncAt) / 1000 })
  }, 'max')
  m('mesh_registry_full_reads_total', 'Full registry reads (start, reconnect, gap, periodic).', 'counter', (out) => { out.push({ labels: {}, value: src.feed.fullReads }) })
  m('mesh_change_propagation_seconds', 'Registry write to table served on this node.', 'histogram', (out) => {
    histogramSamples('mesh_change_propagation_seconds', src.tables.propagation, {}, out)
  })
  m('mesh_table_rebuild_seconds', 'Time to build a routing-table snapshot.', 'histogram', (out) => {
    histogramSamples('mesh_table_rebuild_seconds', src.tables.rebuild, {}, out)
  })
  m('mesh_listeners', 'Published-port listeners by state (open, failed).', 'gauge', (out) => {
    let open = 0
    let failed = 0
    for (const l of src.listeners.listeners.values()) { if (l.state === 'open') open++; else if (l.state === 'failed') failed++ }
    out.push({ labels: { state: 'open' }, value: open })
    out.push({ labels: { state: 'failed' }, value: failed })
  }, 'max')
  m('mesh_http_connections_active', 'HTTP client connections open now, by published port.', 'gauge', (out) => {
    for (const l of src.listeners.listeners.values()) if (l.impl instanceof L7Listener) out.push({ labels: { port: l.port }, value: l.impl.connections })
  })
  m('mesh_http_client_timeouts_total', 'HTTP client connections cut by a client timeout, by published port and kind (head: clientHeadersTimeout, request: clientRequestTimeout, send: clientSendTimeout).', 'counter', (out) => {
    for (const l of src.listeners.listeners.values()) {
      if (!(l.impl instanceof L7Listener)) continue
      const t = l.impl.timeouts
      out.push({ labels: { port: l.port, kind: 'head' }, value: t.head })
      out.push({ labels: { port: l.port, kind: 'request' }, value: t.request })
      out.push({ labels: { port: l.port, kind: 'send' }, value: t.send })
    }
  })
  m('mesh_connections_active', 'Client connections open now, every published port (L7 and L4) together.', 'gauge', (out) => { out.push({ labels: {}, value: src.listeners.limit.active }) })
  m('mesh_connections_refused_total', 'Client connections closed at accept because proxy.maxConnections were open.', 'counter', (out) => { out.push({ labels: {}, value: src.listeners.limit.refused }) })
  m('mesh_listener_bind_failures_total', 'Failed attempts to bind a published port.', 'counter', (out) => { out.push({ labels: {}, value: src.listeners.bindFailures }) })
}
