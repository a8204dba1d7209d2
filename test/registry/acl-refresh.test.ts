/**
 * A new version may add registry keys every node must read (the cluster's
 * certificates): its leader brings the node users of an older cluster in
 * line with the rules of this version, and never recreates a revoked user.
 * Real redis-server ACL users, connections made with their credentials.
 */
import t from 'tap'
import Redis from 'ioredis'
import { refreshNodeRules } from '../../lib/node/provision'
import { literal, workerRules } from '../../lib/registry/acl'
import { RegistryStore } from '../../lib/registry/store'
import { TestRedis } from '../helpers/redis'

t.test('refreshNodeRules: a worker user made without read access to mesh:certs gets it; its own-keys-only writes stay; a gone user stays gone', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const admin = redis.client()
  t.teardown(() => { admin.disconnect() })
  const store = new RegistryStore(admin, 'mesh:')
  const k = store.keys
  await admin.hset(k.certs, 'site', '{}')
  // The rules of a version before certificates: everything but the two new keys.
  const old = workerRules(k, 'n1').filter((r) => r !== `%R~${literal(k.certs)}` && r !== `%R~${literal(k.tls)}`)
  await admin.call('ACL', 'SETUSER', 'mesh-node-n1', 'reset', 'on', '>pw-n1', ...old)
  const as = new Redis({ port: Number(new URL(redis.url).port), host: '127.0.0.1', username: 'mesh-node-n1', password: 'pw-n1', lazyConnect: true, maxRetriesPerRequest: 0 })
  t.teardown(() => { as.disconnect() })
  await as.connect()
  await t.rejects(as.hgetall(k.certs), /NOPERM/, 'before: the old user may not read the certificates')

  const n = await refreshNodeRules(store, [{ id: 'n1', user: 'mesh-node-n1', role: 'worker' }, { id: 'n2', user: 'mesh-node-n2', role: 'worker' }, { id: 'n3', role: 'manager' }])
  t.equal(n, 1, 'one user brought in line (n2 has no user any more, n3 is on the admin credential)')
  t.same(await as.hgetall(k.certs), { site: '{}' }, 'after: it reads them, on the connection it already had')
  await t.rejects(as.hset(k.certs, 'x', '{}'), /NOPERM/, 'and still may not write them')
  await t.rejects(as.set(k.heartbeat('n2'), '1'), /NOPERM/, 'nor another node\'s heartbeat')
  t.equal(await as.set(k.heartbeat('n1'), '1'), 'OK', 'its own heartbeat: yes')
  t.equal(await admin.call('ACL', 'GETUSER', 'mesh-node-n2'), null, 'the gone user was not recreated')
})
