import t from 'tap'
import { RESTORE_WAIT_MS } from '../../lib/service/write'
import { httpGet, mesh, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

t.test('a CLI write into a Redis that holds no cluster founds none: it waits, then says why, and writes nothing', async (t) => {
  const redis = await TestRedis.start({ cluster: false })
  t.teardown(async () => { await redis.close() })
  const started = Date.now()
  const r = await mesh(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', '127.0.0.1:9'], redis.url)
  const took = Date.now() - started
  t.equal(r.code, 1, 'exit 1')
  t.match(r.stderr, /being restored/, 'the error says the registry is being restored')
  t.match(r.stderr, /create one with `mesh init`/, 'and how to create a cluster if there never was one')
  t.ok(took >= RESTORE_WAIT_MS, `it waited for a restore first (${took} ms)`)
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  t.same(await client.keys('*'), [], 'nothing was written: no epoch, no record')
})

t.test('FLUSHALL, then a CLI write at once: the nodes restore the registry and the write lands on top; nothing lost', async (t) => {
  // Nodes notice a flush at their next liveness poll (the default 1 s), so the CLI write comes first.
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b'], nodeArgs: ['--set', 'registry.livenessInterval=1s'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).body === 'a\n', { what: 'web served' })
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  const epoch = await client.get('mesh:epoch')
  const web = await client.hget('mesh:services', 'web')

  await client.flushall()
  const r = await mesh(['service', 'create', '--name', 'api', '--publish', '8081:80', '--endpoint', b.address], redis.url)
  t.equal(r.code, 0, `the write succeeded (${r.stderr.trim()})`)
  t.equal(await client.get('mesh:epoch'), epoch, 'the cluster kept its epoch (no new cluster was founded)')
  t.equal(await client.hget('mesh:services', 'web'), web, 'the service from before the flush is back, unchanged')
  t.ok(await client.hexists('mesh:services', 'api'), 'and the new one is there too')
  await waitFor(async () => (await httpGet(`http://${node.addr}:8081/`)).body === 'b\n', { what: 'api served' })
  t.equal((await httpGet(`http://${node.addr}:8080/`)).body, 'a\n', 'both are served')
})
