/**
 * Every malformed record shape (a field missing, a field of the wrong kind,
 * an unknown schema version, invalid JSON) of every record type, written
 * where every reader sees it (the hash and the change feed), into a live
 * 3-node cluster with two managers: every daemon stays up, each names each
 * bad key in its log, and the scheduler keeps converging the good service,
 * on the leader and, after it stops, on the standby.
 */
import t from 'tap'
import { nodeIdFor } from '../../lib/registry/ids'
import type { RecordType } from '../../lib/registry/types'
import { makeSpec } from '../helpers/cluster-fixture'
import { meshOk } from '../helpers/mesh'
import { writeRaw } from '../helpers/raw-record'
import { waitFor } from '../helpers/wait'
import { runningTasks, startCluster, whoamiService } from './registry-fixture'

t.test('every malformed shape of every record type: every daemon alive, the scheduler keeps converging', async (t) => {
  const c = await startCluster(t, ['m1', 'm2', 'w3'], { managers: 2 })
  const { tasks } = await whoamiService(c, 'nginx1', 2)
  const spec = (await c.store.snapshot()).services.get('nginx1')
  if (spec === undefined) throw new Error('no nginx1')
  const m1 = nodeIdFor('m1')

  const good: Record<RecordType, Record<string, unknown>> = {
    service: { ...makeSpec('bad'), command: ['mesh', 'whoami'], replicas: 2 },
    task: { ...tasks[0], id: 'bad', slot: 9, node: m1, state: 'assigned' },
    health: { v: 1, status: 'healthy', at: Date.now(), by: m1, detail: 'ok' },
    node: { v: 1, id: 'bad', name: 'bad', addr: '127.0.0.1', role: 'worker', availability: 'active', joinedAt: Date.now(), status: 'ready', admin: '' }
  }
  /** A field a consumer reads, dropped; one made the wrong kind. */
  const fields: Record<RecordType, { missing: string, wrong: [string, unknown] }> = {
    service: { missing: 'command', wrong: ['update', { parallelism: 'all' }] },
    task: { missing: 'desired', wrong: ['port', 'eighty'] },
    health: { missing: 'status', wrong: ['at', 'now'] },
    node: { missing: 'addr', wrong: ['availability', 5] }
  }
  const keys: string[] = []
  for (const type of Object.keys(good) as RecordType[]) {
    const g = good[type]
    const f = fields[type]
    const shapes: Record<string, string> = {
      missing: JSON.stringify({ ...g, [f.missing]: undefined }),
      wrong: JSON.stringify({ ...g, [f.wrong[0]]: f.wrong[1] }),
      v2: JSON.stringify({ ...g, v: 2 }),
      json: `${JSON.stringify(g).slice(0, 30)}`
    }
    for (const [shape, text] of Object.entries(shapes)) {
      // Health records are keyed by task id: two point at real tasks, as a bad prober write would.
      const id = type === 'health' && shape === 'missing' ? tasks[0].id : type === 'health' && shape === 'wrong' ? tasks[1].id : `bad-${shape}`
      await writeRaw(c.store.redis, type, id, text)
      keys.push(`${c.store.keys.hashOf(type)} ${id}`)
    }
  }
  t.equal(keys.length, 16, '4 shapes x 4 record types written')

  await meshOk(['service', 'scale', 'nginx1=4', '-d'], c.redis.url)
  const scaledAt = Date.now()
  await runningTasks(c.store, 'nginx1', 4)
  t.comment(`with 16 malformed records in the registry, nginx1 scaled 2 -> 4 in ${Date.now() - scaledAt} ms`)
  for (const n of c.nodes) t.equal(n.proc.exitCode, null, `${n.name} is alive`)
  for (const n of c.nodes) {
    await waitFor(() => keys.every((k) => n.log.includes(`skipping malformed registry record ${k}:`)), { what: `${n.name} naming every bad key` })
  }
  t.pass('every daemon names every bad key in its log')
  for (const n of c.nodes) {
    const times = Object.fromEntries(keys.map((k) => [k, n.log.split(`skipping malformed registry record ${k}:`).length - 1]))
    t.same(Object.entries(times).filter(([, count]) => count !== 1), [], `${n.name} logged each bad key once (through the feed and several full reads)`)
  }

  // The standby reads the same registry when it takes over, and converges too.
  await c.nodes[0].stop()
  await waitFor(() => /m2 is the leader/.test(c.nodes[1].log), { what: 'the standby takes the lease' })
  await meshOk(['service', 'scale', 'nginx1=5', '-d'], c.redis.url)
  const standbyAt = Date.now()
  await runningTasks(c.store, 'nginx1', 5, 30_000)
  t.comment(`after the leader stopped, the standby scaled nginx1 to 5 in ${Date.now() - standbyAt} ms`)
  for (const n of c.nodes.slice(1)) t.equal(n.proc.exitCode, null, `${n.name} is alive`)
})
