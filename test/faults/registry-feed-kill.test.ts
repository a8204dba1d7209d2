/**
 * The change-feed connection of every node killed (CLIENT KILL) in the
 * middle of a burst of 100 writes: every node serves the registry's final
 * state (its revision, and the endpoint the last write left) within
 * registry.resyncInterval + 1 s of the last write.
 */
import t from 'tap'
import { staticTask } from '../../lib/service/endpoints'
import type { TaskRecord } from '../../lib/registry/types'
import { Backend } from '../helpers/backend'
import { httpGet, meshOk } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'
import { startCluster } from './registry-fixture'

const WRITES = 100
/** test/helpers/mesh.ts FAST: registry.resyncInterval. */
const RESYNC_MS = 2000

t.test('feed connections killed during a burst of 100 writes: every node matches the registry within resyncInterval + 1 s', async (t) => {
  const c = await startCluster(t, ['k1', 'k2', 'k3'])
  const backends = await Promise.all(['a', 'b', 'c'].map(async (name) => await Backend.start(name)))
  t.teardown(async () => { await Promise.all(backends.map(async (b) => await b.close())) })
  const port = await freePort('127.0.0.1')
  await meshOk(['service', 'create', '--name', 'web', '--publish', `${port}:80`, '--endpoint', backends[0].address], c.redis.url)
  for (const n of c.nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:${port}/`)).body === 'a\n', { what: `web on ${n.name}` })
  const spec = (await c.store.snapshot()).services.get('web')
  if (spec === undefined) throw new Error('no service web')

  // Each write moves web's one endpoint to the next backend; the last one leaves it on c.
  let current: TaskRecord = [...(await c.store.snapshot()).tasks.values()][0]
  let killed = 0
  for (let i = 1; i <= WRITES; i++) {
    const to = i === WRITES ? backends[2] : backends[i % 2]
    const next = staticTask(spec, { host: to.host, port: to.port }, 1, Date.now())
    await c.store.write([{ type: 'task', id: current.id, value: null }, { type: 'task', id: next.id, value: next }])
    current = next
    if (i === WRITES / 2) {
      const list = await c.store.redis.client('LIST') as string
      for (const line of list.split('\n')) {
        const id = /id=(\d+) .*name=mesh:k\d:feed/.exec(line)?.[1]
        if (id !== undefined) killed += Number(await c.store.redis.client('KILL', 'ID', id))
      }
    }
  }
  const lastAt = Date.now()
  t.equal(killed, 3, 'the feed connection of each of the 3 nodes was killed mid-burst')
  const rev = (await c.store.snapshot()).rev

  const matched = new Map<string, number>()
  await Promise.all(c.nodes.map(async (n) => {
    await waitFor(async () => {
      const h = JSON.parse((await httpGet(`http://${n.admin}/healthz`)).body) as { revision: number }
      if (h.revision !== rev) return false
      for (let i = 0; i < 3; i++) if ((await httpGet(`http://${n.addr}:${port}/`)).body !== 'c\n') return false
      return true
    }, { timeout: RESYNC_MS + 5000, interval: 20, what: `${n.name} at revision ${rev}, serving c` })
    matched.set(n.name, Date.now() - lastAt)
  }))
  const slowest = Math.max(...matched.values())
  t.comment(`after ${WRITES} writes with the feeds killed at write ${WRITES / 2}: every node at revision ${rev} and serving the final endpoint ${slowest} ms after the last write (${JSON.stringify(Object.fromEntries(matched))})`)
  t.ok(slowest <= RESYNC_MS + 1000, `within resyncInterval + 1 s (${slowest} ms)`)
})
