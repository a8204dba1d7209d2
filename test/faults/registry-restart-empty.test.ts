/**
 * Redis restarted empty under a steady load on every node of a 3-node
 * cluster with a 5-replica service of real `mesh whoami` tasks: clients see
 * nothing (zero non-2xx), no task is replaced, and the registry afterwards
 * holds exactly the records it held before (services, tasks, nodes).
 */
import t from 'tap'
import { waitFor } from '../helpers/wait'
import { loadAll, records, settled, startCluster, stopAll, whoamiService } from './registry-fixture'

/** test/helpers/mesh.ts FAST: node.heartbeatTtl. */
const HEARTBEAT_TTL = 1000

t.test('Redis restarted empty under load: zero non-2xx, task ids unchanged, the registry equal to before', async (t) => {
  const c = await startCluster(t, ['r1', 'r2', 'r3'])
  const { port } = await whoamiService(c, 'nginx1', 5)
  const before = await records(c.store)
  t.equal(Object.keys(before[c.store.keys.tasks]).length, 5, '5 task records before')

  const loads = loadAll(t, c, port)
  await waitFor(() => loads.every((l) => l.result.ok > 20), { what: 'load running on every node' })
  const restartedAt = Date.now()
  await c.redis.stop()
  await c.redis.start()
  await waitFor(async () => await settled(c.store), { timeout: 15_000, what: 'the registry restored and its restore window closed' })
  const restoredIn = Date.now() - restartedAt
  // Keep the load on across several heartbeat TTLs and reconcile passes: a node judged dead would show now.
  const until = Date.now() + 4 * HEARTBEAT_TTL
  await waitFor(() => Date.now() > until, { timeout: 10_000, interval: 100, what: 'the observation window' })
  const result = await stopAll(loads)
  const after = await records(c.store)

  t.comment(`Redis restarted empty: registry restored ${restoredIn} ms later; ${result.ok + result.failed} requests on 3 nodes, ${result.failed} non-2xx (${JSON.stringify(result.statuses)})`)
  t.equal(result.failed, 0, `zero non-2xx responses or errors (first: ${result.firstFailure})`)
  t.ok(result.ok > 200, `the load ran throughout (${result.ok} ok)`)
  t.same(Object.keys(after[c.store.keys.tasks]).sort(), Object.keys(before[c.store.keys.tasks]).sort(), 'the same task ids')
  t.same(after, before, 'services, tasks and nodes exactly as before the restart')
  t.ok(c.nodes.some((n) => /restored 1 services, 5 tasks\/endpoints and 3 nodes/.test(n.log)), 'a node says it restored the registry')
  for (const n of c.nodes) t.equal(n.proc.exitCode, null, `${n.name} is running`)
})
