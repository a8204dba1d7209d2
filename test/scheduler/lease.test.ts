import t from 'tap'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { Lease } from '../../lib/scheduler/lease'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

const TTL = 5000

t.test('a lease won while stop() runs is given back: the standby takes over at once, not after a TTL', async (t) => {
  const redis = await TestRedis.start()
  const conns = [0, 1].map((i) => {
    const c = createRedis({ url: redis.url, connectTimeout: 2000, reconnectMaxDelay: 200, name: `lease-${i}` })
    c.on('error', () => {})
    return c
  })
  t.teardown(async () => { for (const c of conns) c.disconnect(); await redis.close() })
  await Promise.all(conns.map(async (c) => { await c.connect() }))
  const keys = new RegistryStore(conns[0], 'mesh:').keys

  const stopping = new Lease(conns[0], keys, 'stopping', TTL)
  stopping.start() // its acquire is on the wire...
  await stopping.stop() // ...and stop() runs before the answer comes back
  t.notOk(stopping.leader, 'the stopped manager does not lead')

  const standby = new Lease(conns[1], keys, 'standby', TTL)
  t.teardown(async () => { await standby.stop() })
  const started = Date.now()
  standby.start()
  await waitFor(() => standby.leader, { timeout: TTL, what: 'the standby leads' })
  const took = Date.now() - started
  t.comment(`standby took over ${took} ms after the other manager stopped (lease TTL ${TTL} ms)`)
  t.ok(took < 1000, `the standby leads within 1 s, not after the ${TTL} ms TTL (${took} ms)`)
})

t.test('nobody leads a registry without a cluster epoch', async (t) => {
  const redis = await TestRedis.start({ cluster: false })
  const c = createRedis({ url: redis.url, connectTimeout: 2000, reconnectMaxDelay: 200, name: 'lease-empty' })
  c.on('error', () => {})
  t.teardown(async () => { c.disconnect(); await redis.close() })
  await c.connect()
  const store = new RegistryStore(c, 'mesh:')
  const lease = new Lease(c, store.keys, 'eager', TTL)
  t.teardown(async () => { await lease.stop() })
  lease.start()
  await new Promise((resolve) => setTimeout(resolve, 300)) // a few acquire attempts (every 250 ms)
  t.notOk(lease.leader, 'no lease in a registry waiting for cluster creation or a restore')
  t.equal(await c.get(store.keys.fence), null, 'and the fencing counter was not started at 1')
  await store.createCluster()
  await waitFor(() => lease.leader, { what: 'a leader once the cluster exists' })
  t.pass('a leader once the cluster exists')
})
