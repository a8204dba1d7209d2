import t, { type Test } from 'tap'
import { createRedis } from '../../lib/registry/client'
import { RegistryFeed } from '../../lib/registry/feed'
import { nodeIdFor } from '../../lib/registry/ids'
import { RegistryStore } from '../../lib/registry/store'
import { Membership } from '../../lib/node/membership'
import type { NodeIdentity } from '../../lib/node/context'
import { node as nodeRecord } from '../cli/records'
import { Partition } from '../helpers/partition'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

const OPTIONS = { heartbeatInterval: 100, heartbeatTtl: 5000, admin: '' }

interface Setup { store: RegistryStore, admin: RegistryStore, feed: RegistryFeed, me: NodeIdentity, relay: Partition }

/** A registry, the membership's own connection through a relay the test can cut, and an admin connection. */
async function setup (t: Test): Promise<Setup> {
  const redis = await TestRedis.start()
  const relay = await Partition.start(redis.port)
  const conn = (name: string, url: string): ReturnType<typeof createRedis> => {
    const c = createRedis({ url, connectTimeout: 2000, reconnectMaxDelay: 50, name, commandTimeout: 10_000 })
    c.on('error', () => {})
    return c
  }
  const own = conn('membership', relay.url)
  const admin = conn('admin', redis.url)
  const reader = conn('feed', redis.url)
  await Promise.all([own.connect(), admin.connect(), reader.connect()])
  const store = new RegistryStore(own, 'mesh:')
  const me: NodeIdentity = { id: nodeIdFor('n1'), name: 'n1', addr: '127.0.0.1', role: 'worker' }
  // A feed that was never started: its view lags the registry, as any view may at any moment.
  const feed = new RegistryFeed(store, reader, { resyncInterval: 60_000, blockTimeout: 1000, reconnectMaxDelay: 50, url: redis.url, nodeId: me.id, heartbeatTtl: 5000 })
  t.teardown(async () => { own.disconnect(); admin.disconnect(); reader.disconnect(); await relay.close(); await redis.close() })
  return { store, admin: new RegistryStore(admin, 'mesh:'), feed, me, relay }
}

t.test('registering again and leaving keep an availability written meanwhile by `node update`', async (t) => {
  const { store, admin, feed, me } = await setup(t)
  await admin.write([{ type: 'node', id: me.id, value: nodeRecord({ id: me.id, name: me.name, availability: 'drain', status: 'down' }) }])
  const m = new Membership(store, feed, me, OPTIONS, () => 0)
  await m.start()
  const joined = (await admin.snapshot()).nodes.get(me.id)
  t.match(joined, { status: 'ready', availability: 'drain' }, 'a drained node that restarts registers ready and still drained')

  await admin.write([{ type: 'node', id: me.id, value: { ...joined!, availability: 'pause' } }])
  await m.leave()
  t.match((await admin.snapshot()).nodes.get(me.id), { status: 'down', availability: 'pause' }, 'leaving marks it down and keeps the pause written meanwhile')
})

t.test('a heartbeat in flight when the node leaves does not bring its key back', async (t) => {
  const { store, admin, feed, me, relay } = await setup(t)
  const m = new Membership(store, feed, me, OPTIONS, () => 0)
  await m.start()
  const hb = admin.keys.heartbeat(me.id)
  // The next beat leaves the node but never reaches Redis; then its connection drops (ioredis keeps the beat to resend).
  relay.hold()
  await waitFor(() => relay.heldBytes > 0, { what: 'a heartbeat caught in flight' })
  relay.cut()
  await waitFor(() => store.redis.status !== 'ready', { what: 'the node sees its connection drop' })
  const left = m.leave()
  relay.heal() // the connection comes back: the beat is resent
  await left
  await waitFor(async () => store.redis.status === 'ready' && await store.redis.ping() === 'PONG', { what: 'the node\'s connection is back (and has sent what it held)' })
  t.equal(await admin.redis.exists(hb), 0, 'the heartbeat key is gone after the node left')
  t.match((await admin.snapshot()).nodes.get(me.id), { status: 'down' }, 'and its record says down')
})
