/**
 * bench:scale's child process: several simulated nodes in one process, each
 * wired as a node daemon wires its control plane and table (lib/index.ts):
 * its own Redis connections (command + feed), its feed, its membership
 * (heartbeat, status through its report sink), its prober and its routing
 * table; the manager also runs the scheduler (lease, liveness monitor,
 * inbox). No listeners and no agent: an idle node's registry traffic comes
 * from the parts that are here. Each node runs on its own Redis user.
 *
 * Reports to the parent over IPC: 'ready' per node once it serves the
 * registry's state, 'swap' per table swap (node id, revision, Date.now()),
 * 'rss' on request. Exits on SIGTERM.
 */
import { loadConfig } from '../lib/config/load'
import { createRedis } from '../lib/registry/client'
import { RegistryFeed } from '../lib/registry/feed'
import { RegistryStore } from '../lib/registry/store'
import { canWriteRegistry } from '../lib/registry/parts'
import { nodeSink } from '../lib/registry/report-sink'
import { reportsOf, type NodeContext, type NodeIdentity } from '../lib/node/context'
import { Membership } from '../lib/node/membership'
import { withCredentials } from '../lib/node/state-dir'
import { Prober } from '../lib/health/prober'
import { TableBuilder } from '../lib/table/table-builder'
import { TableSource } from '../lib/table/table-source'
import { startScheduler } from '../lib/scheduler/scheduler'

export interface SimNode { id: string, name: string, addr: string, role: 'manager' | 'worker', user: string, password: string }

interface Started { stop: () => Promise<void> }

async function startSim (registry: string, n: SimNode, set: Record<string, string>): Promise<Started> {
  const config = loadConfig({ env: {}, overrides: { ...set, 'redis.url': withCredentials(registry, n.user, n.password), 'node.name': n.name, 'node.advertise': n.addr, 'proxy.warmupRequests': '0' } })
  const conns: Array<ReturnType<typeof createRedis>> = []
  const connect = (label: string): ReturnType<typeof createRedis> => {
    const r = createRedis({ ...config.redis, name: `mesh:${n.name}:${label}`, commandTimeout: label === 'cmd' ? 10_000 : undefined })
    r.on('error', () => {})
    r.connect().catch(() => {})
    conns.push(r)
    return r
  }
  const node: NodeIdentity = { id: n.id, name: n.name, addr: n.addr, role: n.role, user: n.user }
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
  store.expectedEpoch = () => feed.state.epoch
  const ctx: NodeContext = { config, node, store, feed, newRedis: connect, reports: nodeSink(store, () => node, feed) }
  const p = config.proxy
  const tables = new TableSource(feed, new TableBuilder({
    connectTimeout: p.connectTimeout,
    headersTimeout: p.headersTimeout,
    bodyTimeout: p.bodyTimeout,
    keepAliveTimeout: p.upstreamKeepAlive,
    connections: p.upstreamConnections,
    maxHeaderSize: p.maxHeaderSize,
    maxQueued: p.maxQueued,
    queueTimeout: p.queueTimeout
  }, node.id))
  tables.on('swap', (table: { rev: number }) => { process.send?.({ type: 'swap', id: n.id, rev: table.rev, at: Date.now() }) })
  await feed.start(10_000)
  const membership = new Membership(store, feed, node, { heartbeatInterval: config.node.heartbeatInterval, heartbeatTtl: config.node.heartbeatTtl, admin: '' },
    () => tables.current().rev, reportsOf(ctx))
  await membership.start()
  const prober = new Prober(feed, store, node.id, reportsOf(ctx))
  const scheduler = n.role === 'manager' ? startScheduler(ctx) : null
  return {
    stop: async () => {
      await scheduler?.stop()
      prober.stop()
      await feed.stop()
      await tables.close()
      for (const c of conns) c.disconnect()
    }
  }
}

export function runChild (registry: string, nodes: SimNode[], set: Record<string, string>): void {
  const started: Started[] = []
  process.on('message', (m: { type: string }) => {
    if (m.type === 'rss') process.send?.({ type: 'rss', rss: process.memoryUsage().rss, nodes: nodes.length })
  })
  process.on('SIGTERM', () => {
    void Promise.all(started.map(async (s) => { await s.stop() })).finally(() => process.exit(0))
  })
  void (async () => {
    for (const n of nodes) {
      started.push(await startSim(registry, n, set))
      process.send?.({ type: 'ready', id: n.id })
    }
  })().catch((err: unknown) => {
    process.send?.({ type: 'error', message: (err as Error)?.stack ?? String(err) })
    process.exit(1)
  })
}

if (require.main === module) {
  const [registry, file] = process.argv.slice(2)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const spec = JSON.parse(require('node:fs').readFileSync(file, 'utf8')) as { nodes: SimNode[], set: Record<string, string> }
  runChild(registry, spec.nodes, spec.set)
}
