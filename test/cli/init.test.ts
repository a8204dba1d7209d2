/**
 * `mesh init` founds a cluster in a new Redis (its epoch) and only there:
 * not twice, and not over a registry that holds keys but no epoch (flushed,
 * its nodes restoring it).
 */
import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { mesh } from './mesh'

t.test('mesh init: a new Redis gets a cluster; an existing or a restoring one is refused', async (t) => {
  const r = await TestRedis.start({ cluster: false })
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })

  const first = await mesh(r.url, ['init'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^Cluster created in the registry at redis:\/\/127\.0\.0\.1:\d+\/? \(epoch \w+\)/)
  const epoch = await redis.get('mesh:epoch')
  t.ok(epoch !== null && first.stdout.includes(epoch), 'the epoch it printed is in the registry')

  const again = await mesh(r.url, ['init'])
  t.match(again, { code: 1, stderr: /already holds a cluster \(epoch \w+\)/ })
  t.equal(await redis.get('mesh:epoch'), epoch, 'the epoch is unchanged')

  // Flushed while its nodes live: their heartbeats are back before anyone could run init.
  await redis.flushall()
  await redis.set('mesh:hb:n1', '42', 'PX', 60_000)
  const over = await mesh(r.url, ['init'])
  t.match(over, { code: 1, stderr: /no cluster epoch: it was flushed or restarted empty and its nodes are restoring it/ })
  t.equal(await redis.exists('mesh:epoch'), 0, 'no epoch created over it')
})
