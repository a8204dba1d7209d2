import t from 'tap'
import Redis from 'ioredis'
import { MeshNode, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { sleep, waitFor } from '../helpers/wait'

t.test('the periodic full read runs only when Redis is ahead of what the node applied', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', 'registry.resyncInterval=200ms'])
  t.teardown(async () => { await node.stop() })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', '127.0.0.1:9'], redis.url)
  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const rev = Number(await client.get('mesh:rev'))
  await waitFor(async () => await node.metric('mesh_registry_revision') === rev, { what: 'the node at the registry revision' })

  const before = await node.metric('mesh_registry_full_reads_total')
  await sleep(1000) // five periods: an observation window, not a wait for something to happen
  t.equal(await node.metric('mesh_registry_full_reads_total'), before, 'in sync: no full read in five periods')

  // A revision the change stream never carried (an edit outside the write script): only a full read finds it.
  await client.incr('mesh:rev')
  await waitFor(async () => await node.metric('mesh_registry_full_reads_total') > before, { timeout: 5000, what: 'a periodic full read' })
  await waitFor(async () => await node.metric('mesh_registry_revision') === rev + 1, { what: 'the node at the bumped revision' })
  t.pass('behind: the next period reads everything and catches up')
})
