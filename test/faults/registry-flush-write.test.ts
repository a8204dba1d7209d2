/**
 * FLUSHALL, then a CLI write within 200 ms, on a 3-node cluster with a
 * 5-replica service: the write waits for the nodes to restore the registry
 * and lands on top of it; nothing is lost (same epoch, same services and
 * tasks, the new record too), and every node serves both services.
 */
import t from 'tap'
import { Backend } from '../helpers/backend'
import { httpGet, mesh } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'
import { records, startCluster, whoamiService } from './registry-fixture'

t.test('FLUSHALL then a CLI write within 200 ms: nothing lost', async (t) => {
  const c = await startCluster(t, ['f1', 'f2', 'f3'])
  const { port } = await whoamiService(c, 'nginx1', 5)
  const backend = await Backend.start('api')
  t.teardown(async () => { await backend.close() })
  const epoch = await c.store.redis.get(c.store.keys.epoch)
  const before = await records(c.store)

  const apiPort = await freePort('127.0.0.1')
  // The daemons are paused across the flush, so the CLI's write surely reaches the empty registry before any node notices.
  const pause = (signal: NodeJS.Signals): void => { for (const n of c.nodes) n.proc.kill(signal) }
  t.teardown(() => { pause('SIGCONT') })
  pause('SIGSTOP')
  await c.store.redis.flushall()
  const flushedAt = Date.now()
  const write = mesh(['service', 'create', '--name', 'api', '--publish', `${apiPort}:80`, '--endpoint', backend.address], c.redis.url)
  const startedIn = Date.now() - flushedAt
  await new Promise((resolve) => setTimeout(resolve, 1500)) // the CLI starts and writes meanwhile (about 400 ms)
  pause('SIGCONT')
  const r = await write
  const took = Date.now() - flushedAt
  t.comment(`CLI write started ${startedIn} ms after FLUSHALL (daemons paused 1.5 s) and returned after ${took} ms`)
  t.ok(startedIn < 200, `the write was issued within 200 ms of the flush (${startedIn} ms)`)
  t.equal(r.code, 0, `the write succeeded ${r.stderr.trim()}`)

  t.equal(await c.store.redis.get(c.store.keys.epoch), epoch, 'the cluster kept its epoch: no new cluster was founded')
  const after = await records(c.store)
  const k = c.store.keys
  t.same(Object.keys(after[k.services]).sort(), ['api', 'nginx1'], 'both services are in the registry')
  t.equal(after[k.services].nginx1, before[k.services].nginx1, 'nginx1 unchanged')
  for (const [id, json] of Object.entries(before[k.tasks])) t.equal(after[k.tasks][id], json, `task ${id.slice(0, 12)} unchanged`)
  t.same(after[k.nodes], before[k.nodes], 'node records unchanged')
  for (const n of c.nodes) {
    await waitFor(async () => (await httpGet(`http://${n.addr}:${apiPort}/`)).body === 'api\n', { what: `api served by ${n.name}` })
    t.equal((await httpGet(`http://${n.addr}:${port}/`)).status, 200, `${n.name} serves nginx1 and api`)
  }
})
