/**
 * The node's metrics. Every data-plane metric is read at scrape time from
 * counters the hot path keeps as plain numbers; prom-client's own label
 * machinery is never touched per request. README "Metrics" lists each name
 * (test/metrics/documented.test.ts holds the two to each other).
 *
 * Data-plane metrics live where the listeners are (the node process, or each
 * worker with --workers N); control metrics (probes) where the prober runs.
 * Conventions (Prometheus'): counters end in `_total`; status as
 * `code_class` (1xx..5xx, what the hot path counts); ages are `_seconds`
 * gauges, instants `_timestamp_seconds` (Unix time); every series carries
 * `node`.
 */
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Prober } from '../health/prober'
import type { ListenerSet } from '../proxy/listeners'
import { L7Listener } from '../proxy/l7-listener'
import { L4Listener } from '../proxy/l4-listener'
import { UdpListener } from '../proxy/udp-listener'
import type { RegistryFeed } from '../registry/feed'
import { isHttp, isStream } from '../registry/types'
import type { TableSource } from '../table/table-source'
import { CollectedMetric, bucketLabels, emitHistogram, metricDef, routeMetricDef, type Emit, type MetricDef } from './collected'
import type { FixedHistogram } from './histogram'
import { LabelSet } from './label-set'
import { routeLabels, type RouteLabels } from './route-labels'
import type { Endpoint } from '../balancer/endpoint'
import { ScrapeViews } from './scrape-view'
import { MetricsPage } from './metrics-page'

export interface DataPlaneSources {
  feed: RegistryFeed
  tables: TableSource
  listeners: ListenerSet
  passive: PassiveHealth
}

const NONE = LabelSet.EMPTY
const OPEN = new LabelSet({ state: 'open' })
const FAILED = new LabelSet({ state: 'failed' })
/** Bucket label sets of an unlabelled histogram, made once. */
const unlabelled = new WeakMap<FixedHistogram, LabelSet[]>()
function emitUnlabelled (emit: Emit, h: FixedHistogram): void {
  let buckets = unlabelled.get(h)
  if (buckets === undefined) unlabelled.set(h, buckets = bucketLabels(NONE, h.bounds))
  emitHistogram(emit, h, NONE, buckets)
}

function emitResponses (emit: Emit, l: RouteLabels, ep: Endpoint): void {
  const r = ep.responses
  let sets: readonly LabelSet[] | null = null
  for (let c = 1; c <= 5; c++) if (r[c] > 0) emit((sets ??= l.endpoint(ep))[c], r[c])
}

/** The metrics of routes and endpoints (services, ports, endpoints). */
function routeMetrics (): MetricDef[] {
  return [
    routeMetricDef('mesh_http_requests_total', 'HTTP responses by service, endpoint and status class (endpoint "none": answered by the proxy itself).', 'counter', (emit, views) => {
      for (const v of views) {
        if (!isHttp(v.route.protocol)) continue
        const l = routeLabels(v.route.stats)
        for (let i = 0; i < v.endpoints.length; i++) emitResponses(emit, l, v.endpoints[i])
        for (let i = 0; i < v.retiredEndpoints.length; i++) emitResponses(emit, l, v.retiredEndpoints[i])
        const g = v.route.stats.generated
        for (let c = 1; c <= 5; c++) if (g[c] > 0) emit(l.generated[c], g[c])
      }
    }),
    routeMetricDef('mesh_http_request_duration_seconds', 'HTTP request duration, arrival to last response byte.', 'histogram', (emit, views) => {
      // A route that never forwarded a request has no series (like prom-client's labelled histograms):
      // a node publishing thousands of idle services would otherwise render thousands of empty ones per scrape.
      for (const v of views) {
        const s = v.route.stats
        if (!isHttp(s.protocol) || s.duration.count === 0) continue
        const l = routeLabels(s)
        emitHistogram(emit, s.duration, l.base, l.durationBuckets)
      }
    }),
    routeMetricDef('mesh_upstream_errors_total', 'Upstream errors by kind (connect, timeout, reset, protocol, local, queue).', 'counter', (emit, views) => {
      for (const v of views) {
        const errors = v.route.stats.upstreamErrors
        const l = routeLabels(v.route.stats)
        for (let i = 0; i < errors.length; i++) if (errors[i] > 0) emit(l.errors[i], errors[i])
      }
    }),
    routeMetricDef('mesh_tcp_connections_total', 'L4 connections accepted.', 'counter', (emit, views) => {
      for (const v of views) if (isStream(v.route.protocol)) emit(routeLabels(v.route.stats).base, v.route.stats.tcpConnections)
    }),
    routeMetricDef('mesh_tcp_connections_active', 'L4 connections open now.', 'gauge', (emit, views) => {
      for (const v of views) if (isStream(v.route.protocol) && !v.retired) emit(routeLabels(v.route.stats).base, v.route.stats.tcpActive)
    }),
    routeMetricDef('mesh_tcp_bytes_total', 'L4 bytes by direction (in = from clients, out = to clients), counted when connections close.', 'counter', (emit, views) => {
      for (const v of views) {
        if (!isStream(v.route.protocol)) continue
        const l = routeLabels(v.route.stats)
        emit(l.bytesIn, v.route.stats.bytesIn)
        emit(l.bytesOut, v.route.stats.bytesOut)
      }
    }),
    routeMetricDef('mesh_endpoints', 'Endpoints by health: healthy (in rotation), ejected (passive, this node), unhealthy (listed but not running or failing its check).', 'gauge', (emit, views) => {
      for (const v of views) {
        if (v.retired) continue
        let ejected = 0
        for (const ep of v.endpoints) if (ep.ejected) ejected++
        const l = routeLabels(v.route.stats)
        emit(l.healthy, v.endpoints.length - ejected)
        emit(l.ejected, ejected)
        emit(l.unhealthy, v.route.unhealthy)
      }
    }, 'max')
  ]
}

/** The node's view of the registry, its tables and its listeners. */
function nodeMetrics (src: DataPlaneSources, startedAt: number): MetricDef[] {
  return [
    metricDef('mesh_ejections_total', 'Passive ejections on this node.', 'counter', (emit) => { emit(NONE, src.passive.ejections) }),
    metricDef('mesh_registry_up', '1 when the Redis registry is reachable.', 'gauge', (emit) => { emit(NONE, src.feed.up ? 1 : 0) }, 'min'),
    metricDef('mesh_registry_revision', 'Registry revision of the table this node serves.', 'gauge', (emit) => { emit(NONE, src.tables.current().rev) }, 'min'),
    metricDef('mesh_registry_last_sync_timestamp_seconds', 'When this node last heard from the registry (Unix time; 0: never).', 'gauge', (emit) => {
      emit(NONE, src.feed.lastSyncAt / 1000)
    }, 'min'),
    metricDef('mesh_registry_sync_age_seconds', 'Seconds since this node last heard from the registry (since it started, when it never did).', 'gauge', (emit) => {
      emit(NONE, (Date.now() - (src.feed.lastSyncAt === 0 ? startedAt : src.feed.lastSyncAt)) / 1000)
    }, 'max'),
    metricDef('mesh_registry_full_reads_total', 'Full registry reads (start, reconnect, gap, periodic).', 'counter', (emit) => { emit(NONE, src.feed.fullReads) }),
    metricDef('mesh_change_propagation_seconds', 'Registry write to table served on this node.', 'histogram', (emit) => {
      emitUnlabelled(emit, src.tables.propagation)
    }),
    metricDef('mesh_table_rebuild_seconds', 'Time to build a routing-table snapshot.', 'histogram', (emit) => {
      emitUnlabelled(emit, src.tables.rebuild)
    }),
    metricDef('mesh_listeners', 'Published-port listeners by state (open, failed).', 'gauge', (emit) => {
      let open = 0
      let failed = 0
      for (const l of src.listeners.listeners.values()) { if (l.state === 'open') open++; else if (l.state === 'failed') failed++ }
      emit(OPEN, open)
      emit(FAILED, failed)
    }, 'max'),
    metricDef('mesh_http_connections_active', 'HTTP client connections open now, by published port.', 'gauge', (emit) => {
      for (const l of src.listeners.listeners.values()) if (l.impl instanceof L7Listener) emit(portLabels(l.port).base, l.impl.connections)
    }),
    metricDef('mesh_http_client_timeouts_total', 'HTTP client connections cut by a client timeout, by published port and kind (head: clientHeadersTimeout, request: clientRequestTimeout, send: clientSendTimeout).', 'counter', (emit) => {
      for (const l of src.listeners.listeners.values()) {
        if (!(l.impl instanceof L7Listener)) continue
        const t = l.impl.timeouts
        const p = portLabels(l.port)
        emit(p.head, t.head)
        emit(p.request, t.request)
        emit(p.send, t.send)
      }
    }),
    metricDef('mesh_tls_refused_total', 'TLS connections refused by published port: https, a handshake no certificate answers (tls.unknownName refuse); tls passthrough, no SNI or an unknown name.', 'counter', (emit) => {
      for (const l of src.listeners.listeners.values()) {
        if (l.protocol === 'https' && l.impl instanceof L7Listener) emit(portLabels(l.port).base, l.impl.tlsRefused)
        else if (l.protocol === 'tls' && l.impl instanceof L4Listener) emit(portLabels(l.port).base, l.impl.sniRefused)
      }
    }),
    metricDef('mesh_http2_streams_total', 'HTTP/2 streams answered, by published port (h2c, and h2 on https ports).', 'counter', (emit) => {
      for (const l of src.listeners.listeners.values()) if (l.impl instanceof L7Listener) emit(portLabels(l.port).base, l.impl.http2Streams)
    }),
    metricDef('mesh_udp_datagrams_total', 'UDP datagrams relayed by published port and direction (in: from clients, out: replies to them).', 'counter', (emit) => {
      for (const l of src.listeners.listeners.values()) {
        if (!(l.impl instanceof UdpListener)) continue
        const p = portLabels(l.port)
        emit(p.in, l.impl.datagramsIn)
        emit(p.out, l.impl.datagramsOut)
      }
    }),
    metricDef('mesh_udp_dropped_total', 'UDP datagrams dropped by published port: no healthy endpoint, or udp.maxFlows flows open.', 'counter', (emit) => {
      for (const l of src.listeners.listeners.values()) if (l.impl instanceof UdpListener) emit(portLabels(l.port).base, l.impl.dropped)
    }),
    metricDef('mesh_udp_flows_active', 'UDP flows (client address and port) open now, by published port.', 'gauge', (emit) => {
      for (const l of src.listeners.listeners.values()) if (l.impl instanceof UdpListener) emit(portLabels(l.port).base, l.impl.flows)
    }),
    metricDef('mesh_connections_active', 'Client connections open now, every published port (L7 and L4) together.', 'gauge', (emit) => { emit(NONE, src.listeners.limit.active) }),
    metricDef('mesh_connections_refused_total', 'Client connections closed at accept because proxy.maxConnections were open.', 'counter', (emit) => { emit(NONE, src.listeners.limit.refused) }),
    metricDef('mesh_listener_bind_failures_total', 'Failed attempts to bind a published port.', 'counter', (emit) => { emit(NONE, src.listeners.bindFailures) })
  ]
}

interface PortLabels { base: LabelSet, head: LabelSet, request: LabelSet, send: LabelSet, in: LabelSet, out: LabelSet }
const ports = new Map<number, PortLabels>()
function portLabels (port: number): PortLabels {
  let p = ports.get(port)
  if (p === undefined) {
    const base = new LabelSet({ port })
    ports.set(port, p = {
      base,
      head: base.with({ kind: 'head' }),
      request: base.with({ kind: 'request' }),
      send: base.with({ kind: 'send' }),
      in: base.with({ direction: 'in' }),
      out: base.with({ direction: 'out' })
    })
  }
  return p
}

/** Every data-plane metric of a node (or of one worker). */
export function dataPlaneMetrics (src: DataPlaneSources, startedAt = Date.now()): MetricDef[] {
  return [...routeMetrics(), ...nodeMetrics(src, startedAt)]
}

export function controlMetrics (prober: Prober): MetricDef[] {
  return [metricDef('mesh_health_probes_total', 'Active checks run by this node (it owns the endpoints it probes).', 'counter', (emit) => { emit(NONE, prober.probes) })]
}

/** prom-client registry: Node's process metrics (and, in workers, the data plane for the primary to aggregate). */
export function createRegistry (node: string, processMetrics: boolean): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ node })
  if (processMetrics) collectDefaultMetrics({ register: registry })
  return registry
}

/** Registers the data-plane metrics in a prom-client registry (a --workers worker: the primary aggregates them). */
export function addDataPlaneMetrics (registry: Registry, src: DataPlaneSources): void {
  const views = new ScrapeViews(src.tables)
  dataPlaneMetrics(src).forEach((def, i) => { new CollectedMetric(def, views, i === 0).register(registry) })
}

export function addControlMetrics (registry: Registry, prober: Prober): void {
  for (const def of controlMetrics(prober)) new CollectedMetric(def, null).register(registry)
}

/** A single-process node's /metrics: the data plane and control metrics rendered by MetricsPage, Node's process metrics by prom-client. */
export function createMetricsPage (node: string, src: DataPlaneSources, prober: Prober): MetricsPage {
  const registry = createRegistry(node, true)
  return new MetricsPage(node, [...dataPlaneMetrics(src), ...controlMetrics(prober)], new ScrapeViews(src.tables), registry)
}
