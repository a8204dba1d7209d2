import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('consecutive connect failures eject an endpoint locally; it returns after the back-off', async (t) => {
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, {
    backends: ['a', 'b'],
    nodeArgs: ['--set', 'health.passiveFailures=2', '--set', 'health.ejectBase=1500ms']
  })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  await b.close()
  // Every request still succeeds: the failed connect is retried on the next endpoint.
  for (let i = 0; i < 6; i++) {
    const r = await httpGet(`http://${node.addr}:8080/`)
    t.equal(r.body, 'a\n', `request ${i} answered by a while b is down`)
  }
  t.equal(await node.metric('mesh_ejections_total'), 1, 'b was ejected once')
  t.equal(await node.metric('mesh_endpoints', 'health="ejected"'), 1, 'metrics show one ejected endpoint')
  const errorsAfterEjection = await node.metric('mesh_upstream_errors_total', 'kind="connect"')
  for (let i = 0; i < 4; i++) await httpGet(`http://${node.addr}:8080/`)
  t.equal(await node.metric('mesh_upstream_errors_total', 'kind="connect"'), errorsAfterEjection, 'an ejected endpoint gets no traffic')

  await b.listen()
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).body === 'b\n', { timeout: 5000, what: 'b back in rotation after the back-off' })
  t.equal(await node.metric('mesh_endpoints', 'health="ejected"'), 0, 'no endpoint ejected any more')
})
