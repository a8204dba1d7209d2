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
import { reportsOf } from '../lib/node/context'
import { createContext, poolOptions } from '../lib/index'
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
  const ctx = createContext(config, { id: n.id, role: n.role, user: n.user })
  const { store, feed, node } = ctx
  const tables = new TableSource(feed, new TableBuilder(poolOptions(config), node.id))
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
      store.redis.disconnect()
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
