/**
 * Wires a node daemon together; the only module that does. Data flows one
 * way: registry feed -> table snapshots -> listeners -> balancer/health ->
 * metrics. Agent and scheduler sit beside it and only write the registry.
 */
import type { Server } from 'node:http'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from './config/schema'
import { createRedis, redactUrl } from './registry/client'
import { RegistryStore } from './registry/store'
import { RegistryFeed } from './registry/feed'
import { nodeIdFor } from './registry/ids'
import { TableBuilder } from './table/table-builder'
import { TableSource } from './table/table-source'
import { PassiveHealth } from './balancer/passive-health'
import { ListenerSet } from './proxy/listeners'
import { Prober } from './health/prober'
import { createNodeMetrics } from './metrics/node-metrics'
import { startAdmin } from './admin/admin-server'
import { Membership } from './node/membership'
import type { NodeContext, NodeIdentity, Subsystem } from './node/context'
import { createLogger } from './util/log'

const log = createLogger('node')

export interface RunningNode {
  ctx: NodeContext
  tables: TableSource
  listeners: ListenerSet
  admin: Server | null
  /** Stops accepting, drains in flight (bounded), stops tasks, deregisters. */
  stop: () => Promise<void>
}

/** Optional subsystems (agent, scheduler) are loaded when their modules are built. */
function loadSubsystem (file: string, exportName: string): ((ctx: NodeContext) => Subsystem) | null {
  const path = join(__dirname, file)
  if (!existsSync(`${path}.js`)) return null
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as Record<string, unknown>
  const fn = mod[exportName]
  return typeof fn === 'function' ? fn as (ctx: NodeContext) => Subsystem : null
}

export async function startNode (config: Config): Promise<RunningNode> {
  const node: NodeIdentity = {
    id: nodeIdFor(config.node.name),
    name: config.node.name,
    addr: config.node.advertise,
    role: config.node.manager ? 'manager' : 'worker'
  }
  const connect = (name: string): ReturnType<typeof createRedis> => {
    const r = createRedis({ url: config.redis.url, connectTimeout: config.redis.connectTimeout, reconnectMaxDelay: config.redis.reconnectMaxDelay, name: `mesh:${node.name}:${name}` })
    r.on('error', (err: Error) => { log.debug('redis %s: %s', name, err.message) })
    r.connect().catch(() => {})
    return r
  }
  const redis = connect('cmd')
  const store = new RegistryStore(redis, config.redis.prefix, config.registry.streamMaxLen)
  const feed = new RegistryFeed(store, connect('feed'), {
    resyncInterval: config.registry.resyncInterval,
    livenessInterval: config.registry.livenessInterval,
    blockTimeout: config.registry.blockTimeout,
    reconnectMaxDelay: config.redis.reconnectMaxDelay,
    url: config.redis.url
  })
  const ctx: NodeContext = { config, node, store, feed, newRedis: connect }

  const p = config.proxy
  const tables = new TableSource(feed, new TableBuilder({
    connectTimeout: p.connectTimeout,
    headersTimeout: p.headersTimeout,
    bodyTimeout: p.bodyTimeout,
    keepAliveTimeout: p.upstreamKeepAlive,
    connections: p.upstreamConnections,
    maxHeaderSize: p.maxHeaderSize
  }))
  const passive = new PassiveHealth({ failures: config.health.passiveFailures, ejectBase: config.health.ejectBase, ejectMax: config.health.ejectMax })
  const listeners = new ListenerSet({
    bind: config.node.bind,
    listenRetry: config.node.listenRetry,
    maxTries: p.maxTries,
    l7: { clientHeadersTimeout: p.clientHeadersTimeout, clientIdleTimeout: p.clientIdleTimeout, maxHeaderSize: p.maxHeaderSize, xForwarded: p.xForwarded },
    l4: { connectTimeout: config.tcp.connectTimeout, idleTimeout: config.tcp.idleTimeout, maxTries: config.tcp.maxTries }
  }, passive)
  tables.on('swap', (table) => { listeners.apply(table) })

  await feed.start()
  if (!feed.up) log.warn(`registry ${redactUrl(config.redis.url)} not reachable yet; serving nothing until it is, retrying`)

  const membership = new Membership(store, feed, node, {
    heartbeatInterval: config.node.heartbeatInterval,
    heartbeatTtl: config.node.heartbeatTtl,
    admin: config.node.admin
  }, () => tables.current().rev)
  await membership.start()
  const prober = new Prober(feed, store, node.id)

  const metrics = createNodeMetrics({ node: node.name, feed, tables, listeners, passive, prober })
  const admin = config.node.admin === ''
    ? null
    : await startAdmin(config.node.admin, metrics, {
      healthz: () => ({
        status: 'ok',
        node: node.name,
        id: node.id,
        registry_up: feed.up,
        revision: tables.current().rev,
        listeners: [...listeners.listeners.values()].map((l) => ({ port: l.port, protocol: l.protocol, state: l.state, error: l.error }))
      })
    })

  const subsystems: Subsystem[] = []
  const startAgent = loadSubsystem('agent/agent', 'startAgent')
  if (startAgent !== null) subsystems.push(startAgent(ctx))
  const startScheduler = node.role === 'manager' ? loadSubsystem('scheduler/scheduler', 'startScheduler') : null
  if (startScheduler !== null) subsystems.unshift(startScheduler(ctx))

  let stopping: Promise<void> | null = null
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      if (startScheduler !== null) await subsystems[0].stop().catch(() => {})
      prober.stop()
      await listeners.close(config.node.shutdownGrace)
      for (const s of subsystems.slice(startScheduler !== null ? 1 : 0)) await s.stop().catch(() => {})
      await membership.leave()
      await feed.stop()
      await tables.close()
      if (admin !== null) await new Promise<void>((resolve) => { admin.close(() => { resolve() }); admin.closeAllConnections() })
      redis.disconnect()
    })()
    await stopping
  }
  return { ctx, tables, listeners, admin, stop }
}
