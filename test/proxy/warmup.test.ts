import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('the start-up warm-up runs on private loopback ports and leaves nothing behind', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', 'proxy.warmupRequests=400'] })
  await waitFor(() => /warmed up the L7 path: 400 requests in \d+ ms/.test(node.log), { what: 'the warm-up log line' })
  t.pass('the node says it warmed up')
  t.equal(a.requests, 0, 'no warm-up request reached a real endpoint')
  t.equal(await node.metric('mesh_listeners', 'state="open"'), 0, 'no listener left open by the warm-up')
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).body === 'a\n', { what: 'web served after the warm-up' })
  t.equal(await node.metric('mesh_http_requests_total', 'code_class="2xx"'), 1, 'warm-up requests are not counted in the metrics')
})
