/**
 * Liveness comes from the feed: the leading manager alone reads every
 * heartbeat and declares a node whose key expired dead; every table drops
 * its tasks from that record, within node.heartbeatTtl + 2 s of the node's
 * last beat, and the scheduler marks them orphaned.
 */
import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'
import { SCHEMA_VERSION, type NodeRecord } from '../../lib/registry/types'

/** test/helpers/mesh.ts FAST */
const HEARTBEAT_TTL = 1000

t.test('a task on a node whose heartbeat expired leaves every table within heartbeatTtl + 2 s; the scheduler orphans it', async (t) => {
  const { redis, backends: [b], nodes } = await meshScenario(t, { backends: ['b'], nodes: 2, nodeArgs: ['--manager'] })
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  const store = new RegistryStore(client, 'mesh:')
  // A node with no daemon, whose heartbeat the test controls; the real node is drained, so the task goes there.
  for (const n of nodes) await meshOk(['node', 'update', '--availability', 'drain', n.name], redis.url)
  const ghost: NodeRecord = { v: SCHEMA_VERSION, id: 'ghostnode', name: 'ghost', addr: b.host, role: 'worker', availability: 'active', joinedAt: Date.now(), status: 'ready', admin: '' }
  await store.write([{ type: 'node', id: ghost.id, value: ghost }])
  await store.heartbeat(ghost.id, 60_000, 0)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--detach', '--', 'sleep', '600'], redis.url)
  const placed = await waitFor(async () => [...(await store.snapshot()).tasks.values()].find((x) => x.service === 'web' && x.node === ghost.id), { what: 'the task placed on the ghost node' })
  // What the ghost's agent would report: running, at backend b's address.
  await store.write([{ type: 'taskStatus', id: placed.id, value: { v: SCHEMA_VERSION, state: 'running', error: '', stateAt: Date.now(), host: b.host, port: b.port, pid: 0, exitCode: null } }])
  for (const n of nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).body === 'b\n', { what: `the task on the live ghost node served by ${n.name}` })

  await store.heartbeat(ghost.id, 300, 0) // its last beat: the key expires in 300 ms
  const lastBeat = Date.now()
  const took = await Promise.all(nodes.map(async (n) => {
    await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).status === 503, { timeout: HEARTBEAT_TTL + 4000, interval: 20, what: `the ghost task dropped by ${n.name} after its node's heartbeat expired` })
    return Date.now() - lastBeat
  }))
  t.comment(`node down -> its task out of every table ${took.join(' / ')} ms after its last beat (heartbeat TTL of that beat 300 ms; bound: node.heartbeatTtl ${HEARTBEAT_TTL} ms + 2 s)`)
  t.ok(Math.max(...took) <= HEARTBEAT_TTL + 2000, `dropped by both nodes within heartbeatTtl + 2 s (${Math.max(...took)} ms)`)
  const snap = await store.snapshot()
  t.equal(snap.parts.liveness.get(ghost.id)?.alive, false, 'the leader recorded the node dead on the feed')
  t.equal(snap.alive.has(ghost.id), false, 'and readers see it dead')
  await waitFor(async () => (await store.snapshot()).tasks.get(placed.id)?.state === 'orphaned', { what: 'the scheduler orphans the task' })
  t.pass('the scheduler marked the lost task orphaned')

  await store.heartbeat(ghost.id, 60_000, 0)
  await waitFor(async () => (await store.snapshot()).alive.has(ghost.id), { what: 'the node alive again once it beats' })
  t.pass('a node that beats again is declared alive again')
})
