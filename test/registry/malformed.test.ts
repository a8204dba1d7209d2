import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'

t.test('malformed registry records are skipped with a log line naming the key; the node keeps serving', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  const store = new RegistryStore(client, 'mesh:')
  // Through the change feed: garbage values in every record type.
  await client.hset('mesh:services', 'broken', '{not json')
  const raw = ['s:garbage', '{"name": 5}', 't:bad-task', '[]', 'h:x', '{"status":"maybe"}']
  const rev = Number(await client.incr('mesh:rev'))
  await client.xadd('mesh:changes', '*', 'rev', String(rev), ...raw)
  await store.write([{ type: 'node', id: 'weird', value: { v: 1 } as never }])
  for (const key of ['mesh:services garbage', 'mesh:tasks bad-task', 'mesh:health x', 'mesh:nodes weird']) {
    await waitFor(() => node.log.includes(`skipping malformed registry record ${key}`), { what: `a log line naming ${key}` })
    t.pass(`${key} named in the log`)
  }
  // And through a full read (the hash field written directly above).
  await client.publish('x', 'y')
  await waitFor(() => /skipping malformed registry record mesh:services broken/.test(node.log), { timeout: 5000, what: 'full read names the bad hash field' })
  for (let i = 0; i < 5; i++) t.equal((await httpGet(`http://${node.addr}:8080/`)).body, 'a\n', 'still serving')
  t.equal(node.proc.exitCode, null, 'the node did not crash')
})
