/**
 * Wires a node daemon together; the only module that does. Data flows one
 * way: registry feed -> table snapshots -> listeners -> balancer/health ->
 * metrics. Agent and scheduler sit beside it and only write the registry.
 *
 * With `node.workers` > 1 the listeners are shared across worker processes
 * (Node's cluster module: reusePort is ignored on Node 20). The primary keeps
 * one copy of everything that must run once per node (membership, prober,
 * agent, scheduler, admin); each worker runs its own feed, table and
 * listeners. /metrics on the primary aggregates the workers.
 */
import cluster from 'node:cluster'
import type { Server } from 'node:http'
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { Config } from './config/schema'
import { createRedis, redactUrl } from './registry/client'
import { RegistryStore } from './registry/store'
import { RegistryFeed } from './registry/feed'
import { nodeIdFor } from './registry/ids'
import { TableBuilder } from './table/table-builder'
import { TableSource } from './table/table-source'
import { PassiveHealth } from './balancer/passive-health'
import { ListenerSet } from './proxy/listeners'
import { CertStore, INTERMEDIATE, type TlsProfile } from './proxy/tls/cert-store'
import type { TlsKeysRecord } from './registry/types'
import type { L7Options } from './proxy/l7-listener'
import { warmUp } from './proxy/warmup'
import type { PoolOptions } from './balancer/endpoint'
import { Prober } from './health/prober'
import { addControlMetrics, addDataPlaneMetrics, createMetricsPage, createRegistry } from './metrics/node-metrics'
import { startAdmin } from './admin/admin-server'
import { Membership } from './node/membership'
import { installProcessGuard } from './node/process-guard'
import { startAgent, type Agent } from './agent/agent'
import { startScheduler } from './scheduler/scheduler'
import { reportsOf, type NodeContext, type NodeIdentity, type Subsystem } from './node/context'
import { RoleWatch } from './node/role-watch'
import { canWriteRegistry } from './registry/parts'
import { nodeSink } from './registry/report-sink'
import { describeRegistryError, isCredentialRefused } from './registry/errors'
import { createLogger } from './util/log'

const log = createLogger('node')

export interface DataPlane {
  tables: TableSource
  listeners: ListenerSet
  passive: PassiveHealth
  /** Stops accepting and drains in-flight requests within the grace period. */
  drain: () => Promise<void>
  close: () => Promise<void>
}

export interface RunningNode {
  ctx: NodeContext
  /** null in a --workers primary (the workers hold the listeners). */
  data: DataPlane | null
  admin: Server | null
  /** Stops accepting, drains in flight (bounded), stops tasks, deregisters. */
  stop: () => Promise<void>
}

/** A node that joined with a token: who it is, from its state directory (node/state-dir.ts). */
export type JoinedIdentity = Required<Pick<NodeIdentity, 'id' | 'role' | 'user'>>

/** A node's identity, registry connections, store and feed (its daemon's, and bench:scale's simulated nodes'). */
export function createContext (config: Config, joined?: JoinedIdentity): NodeContext {
  const node: NodeIdentity = {
    id: joined?.id ?? nodeIdFor(config.node.name),
    name: config.node.name,
    addr: config.node.advertise,
    role: joined?.role ?? (config.node.manager ? 'manager' : 'worker'),
    ...(joined !== undefined ? { user: joined.user } : {})
  }
  const connect = (name: string): ReturnType<typeof createRedis> => {
    // The command connection never blocks: a command that gets no reply fails (see ConnectOptions.commandTimeout).
    const commandTimeout = name === 'cmd' ? Math.max(10_000, config.redis.connectTimeout * 2) : undefined
    const r = createRedis({ ...config.redis, name: `mesh:${node.name}:${name}`, commandTimeout })
    r.on('error', (err: Error) => {
      // A refused credential (the node was removed) is said once, clearly; the node keeps serving what it knows.
      if (isCredentialRefused(err)) log.once('credential', 'error', describeRegistryError(err))
      log.debug('redis %s: %s', name, err.message)
    })
    r.on('ready', () => { if (log.reset('credential')) log.info('the registry accepts this node\'s credential again') })
    r.connect().catch(() => {})
    return r
  }
  const store = new RegistryStore(connect('cmd'), config.redis.prefix, config.registry.streamMaxLen)
  const feed = new RegistryFeed(store, connect('feed'), {
    resyncInterval: config.registry.resyncInterval,
    blockTimeout: config.registry.blockTimeout,
    reconnectMaxDelay: config.redis.reconnectMaxDelay,
    url: config.redis.url,
    nodeId: node.id,
    heartbeatTtl: config.node.heartbeatTtl,
    canRestore: () => canWriteRegistry(node)
  })
  // Every write this node makes belongs to the epoch its feed follows (see RegistryStore.expectedEpoch).
  store.expectedEpoch = () => feed.state.epoch
  // Its actual state: written directly, or through its report stream while its credential is a worker's.
  return { config, node, store, feed, newRedis: connect, reports: nodeSink(store, () => node, feed) }
}

/** The upstream pool options of config.proxy. */
export function poolOptions (config: Config): PoolOptions {
  const p = config.proxy
  return {
    connectTimeout: p.connectTimeout,
    headersTimeout: p.headersTimeout,
    bodyTimeout: p.bodyTimeout,
    keepAliveTimeout: p.upstreamKeepAlive,
    connections: p.upstreamConnections,
    maxHeaderSize: p.maxHeaderSize,
    maxQueued: p.maxQueued,
    queueTimeout: p.queueTimeout
  }
}

function l7Options (config: Config): L7Options {
  const p = config.proxy
  return {
    clientHeadersTimeout: p.clientHeadersTimeout,
    clientIdleTimeout: p.clientIdleTimeout,
    clientRequestTimeout: p.clientRequestTimeout,
    clientSendTimeout: p.clientSendTimeout,
    maxHeaderSize: p.maxHeaderSize,
    maxHeaders: p.maxHeaders,
    http2MaxStreams: p.http2MaxStreams,
    xForwarded: p.xForwarded,
    forwardedHeader: p.forwardedHeader,
    connectTimeout: p.connectTimeout,
    headersTimeout: p.headersTimeout
  }
}

/** Compiles the forwarding path before the first client (see proxy/warmup.ts). */
async function warmDataPlane (config: Config): Promise<void> {
  if (config.proxy.warmupRequests === 0) return
  try {
    const ms = await warmUp(config.proxy.warmupRequests, l7Options(config), poolOptions(config))
    log.info(`warmed up the L7 path: ${config.proxy.warmupRequests} requests in ${ms} ms`)
  } catch (err) {
    log.warn(`warm-up skipped: ${(err as Error).message}`)
  }
}

/** The environment variable that tells a --workers worker its slot (0..N-1). */
const WORKER_SLOT = 'MESH_WORKER_SLOT'

/** The TLS profile HTTPS ports use (tls.minVersion, tls.ciphers; Mozilla's intermediate by default). */
function tlsProfile (config: Config): TlsProfile {
  return { minVersion: config.tls.minVersion, ciphers: config.tls.ciphers === '' ? INTERMEDIATE.ciphers : config.tls.ciphers }
}

/**
 * Keeps the node's certificates and the cluster's ticket keys in line with
 * the registry's, before each table swap: the ticket keys decoded only when
 * their record changed, each certificate loaded only when its record did
 * (CertStore.update).
 */
function certificateSync (certs: CertStore, feed: RegistryFeed): () => void {
  let tickets: TlsKeysRecord | undefined
  return () => {
    const record = feed.parts.tls.get('tickets')
    if (record !== tickets) {
      tickets = record
      const hex = record?.ticketKeys
      certs.setTicketKeys(hex !== undefined && /^[0-9a-f]{96}$/.test(hex) ? Buffer.from(hex, 'hex') : null)
    }
    certs.update(feed.parts.certs.values())
  }
}

function startDataPlane (ctx: NodeContext): DataPlane {
  const { config, feed } = ctx
  const p = config.proxy
  const certs = new CertStore(tlsProfile(config))
  const tables = new TableSource(feed, new TableBuilder(poolOptions(config), ctx.node.id))
  const passive = new PassiveHealth({ failures: config.health.passiveFailures, fiveXx: config.health.passive5xx, ejectBase: config.health.ejectBase, ejectMax: config.health.ejectMax })
  const listeners = new ListenerSet({
    bind: config.node.bind,
    listenRetry: config.node.listenRetry,
    maxTries: p.maxTries,
    accessLog: p.accessLog,
    // With --workers N every worker holds its share of the node's connections.
    maxConnections: Math.max(1, Math.ceil(p.maxConnections / config.node.workers)),
    trustedProxies: p.trustedProxies,
    l7: l7Options(config),
    l4: { connectTimeout: config.tcp.connectTimeout, idleTimeout: config.tcp.idleTimeout, maxTries: config.tcp.maxTries },
    udp: { flowTimeout: config.udp.flowTimeout, maxFlows: config.udp.maxFlows },
    // A flow must stay in one process (its endpoint, its upstream socket): with --workers, the first worker serves UDP.
    serveUdp: !cluster.isWorker || process.env[WORKER_SLOT] === '0',
    tls: { certs, profile: tlsProfile(config), unknownName: config.tls.unknownName }
  }, passive)
  const syncCertificates = certificateSync(certs, feed)
  tables.on('swap', (table) => {
    syncCertificates()
    listeners.apply(table) // every HTTPS port's TLS side refreshes with its entry
  })
  return {
    tables,
    listeners,
    passive,
    drain: async () => { await listeners.close(config.node.shutdownGrace) },
    close: async () => { await tables.close() }
  }
}

/** Exactly one per node: membership, prober, agent, scheduler. */
function startControl (ctx: NodeContext, servedRev: () => number): { membership: Membership, prober: Prober, scheduler: Subsystem, agent: Agent } {
  const { config, node, store, feed } = ctx
  const membership = new Membership(store, feed, node, {
    heartbeatInterval: config.node.heartbeatInterval,
    heartbeatTtl: config.node.heartbeatTtl,
    admin: config.node.admin
  }, servedRev, reportsOf(ctx))
  const prober = new Prober(feed, store, node.id, reportsOf(ctx))
  // The scheduler runs while the node is a manager (a joined node's role follows its record: promote, demote).
  return { membership, prober, agent: startAgent(ctx), scheduler: new RoleWatch(ctx, () => startScheduler(ctx)) }
}

async function startFeed (ctx: NodeContext): Promise<void> {
  await ctx.feed.start()
  if (!ctx.feed.up) log.warn(`registry ${redactUrl(ctx.config.redis.url)} not reachable yet; retrying, and serving what it last knew`)
}

export async function startNode (config: Config, joined?: JoinedIdentity): Promise<RunningNode> {
  installProcessGuard(`node ${config.node.name}${cluster.isWorker ? ` worker ${process.pid}` : ''}`)
  if (config.node.workers > 1 && cluster.isPrimary) return await startPrimary(config, joined)
  if (cluster.isWorker) return await startWorker(config, joined)

  await warmDataPlane(config)
  const ctx = createContext(config, joined)
  const data = startDataPlane(ctx)
  await startFeed(ctx)
  const control = startControl(ctx, () => data.tables.current().rev)
  await control.membership.start()

  const metrics = createMetricsPage(ctx.node.name, { feed: ctx.feed, tables: data.tables, listeners: data.listeners, passive: data.passive }, control.prober)
  const admin = await maybeAdmin(ctx, async () => await metrics.render(), metrics.contentType, () => ({
    revision: data.tables.current().rev,
    health_probes: control.prober.probes,
    listeners: [...data.listeners.listeners.values()].map((l) => ({ port: l.port, protocol: l.protocol, state: l.state, error: l.error }))
  }), data)
  return { ctx, data, admin, stop: stopper(ctx, data, control, admin) }
}

async function maybeAdmin (ctx: NodeContext, metrics: () => Promise<string | Buffer>, contentType: string, extra: () => Record<string, unknown>, data: DataPlane | null): Promise<Server | null> {
  if (ctx.config.node.admin === '') return null
  return await startAdmin(ctx.config.node.admin, { metrics, contentType }, {
    healthz: () => ({ status: 'ok', node: ctx.node.name, id: ctx.node.id, registry_up: ctx.feed.up, ...extra() })
  }, {
    token: ctx.config.node.adminToken,
    dashboard: { feed: ctx.feed, store: ctx.store, self: ctx.node, heartbeatTtl: ctx.config.node.heartbeatTtl, tables: data?.tables ?? null, passive: data?.passive ?? null }
  })
}

function stopper (ctx: NodeContext, data: DataPlane | null, control: ReturnType<typeof startControl> | null, admin: Server | null): () => Promise<void> {
  let stopping: Promise<void> | null = null
  return async () => {
    // Order (README "Shutdown"): this node's tasks leave every table while they run, the listeners drain, then the tasks stop.
    stopping ??= (async () => {
      await control?.scheduler?.stop().catch(() => {})
      control?.prober.stop()
      await control?.agent.leave()
      await data?.drain()
      await control?.agent.stop()
      await control?.membership.leave()
      await ctx.feed.stop()
      await data?.close()
      if (admin !== null) await new Promise<void>((resolve) => { admin.close(() => { resolve() }); admin.closeAllConnections() })
      ctx.store.redis.disconnect()
    })()
    await stopping
  }
}

async function startWorker (config: Config, joined?: JoinedIdentity): Promise<RunningNode> {
  await warmDataPlane(config)
  const ctx = createContext(config, joined)
  const data = startDataPlane(ctx)
  const registry = createRegistry(ctx.node.name, true)
  addDataPlaneMetrics(registry, { feed: ctx.feed, tables: data.tables, listeners: data.listeners, passive: data.passive })
  // Answer the primary's scrapes from the first moment, even while the registry is still being read.
  AggregatorRegistry.setRegistries([registry])
  void new AggregatorRegistry()
  await startFeed(ctx)
  return { ctx, data, admin: null, stop: stopper(ctx, data, null, null) }
}

async function startPrimary (config: Config, joined?: JoinedIdentity): Promise<RunningNode> {
  const ctx = createContext(config, joined)
  await startFeed(ctx)
  const control = startControl(ctx, () => ctx.feed.state.rev)
  await control.membership.start()
  const workers = new Set<ReturnType<typeof cluster.fork>>()
  let stopping = false
  // A worker keeps its slot across restarts: slot 0 alone serves UDP ports (listeners.ts).
  const fork = (slot: number): void => {
    const w = cluster.fork({ [WORKER_SLOT]: String(slot) })
    workers.add(w)
    w.once('exit', (code, signal) => {
      workers.delete(w)
      if (stopping) return
      log.error(`worker ${w.process.pid ?? '?'} exited (${signal ?? code}); starting another`)
      setTimeout(() => { fork(slot) }, 500).unref()
    })
  }
  for (let i = 0; i < config.node.workers; i++) fork(i)
  log.info(`${config.node.workers} worker processes share the listeners`)

  const aggregator = new AggregatorRegistry()
  const own: Registry = createRegistry(ctx.node.name, false)
  addControlMetrics(own, control.prober)
  const admin = await maybeAdmin(ctx, async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}`, aggregator.contentType, () => ({ workers: workers.size, health_probes: control.prober.probes }), null)
  const stopControl = stopper(ctx, null, control, admin)
  const stop = async (): Promise<void> => {
    stopping = true
    await control.agent.leave() // before the workers drain, as in stopper()
    const exits = [...workers].map(async (w) => await new Promise<void>((resolve) => { w.once('exit', () => { resolve() }) }))
    for (const w of workers) w.process.kill('SIGTERM')
    await Promise.all(exits)
    await stopControl()
  }
  return { ctx, data: null, admin, stop }
}
