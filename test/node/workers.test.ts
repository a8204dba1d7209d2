import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('--workers 2 shares the listeners across processes; /metrics adds them up; SIGTERM stops all', async (t) => {
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b'], nodeArgs: ['--workers', '2'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served by the workers' })
  const before = await node.metric('mesh_http_requests_total')
  const seen = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const r = await httpGet(`http://${node.addr}:8080/`)
    t.equal(r.status, 200)
    seen.add(r.body.trim())
  }
  t.same([...seen].sort(), ['a', 'b'], 'both endpoints answer')
  t.equal(await node.metric('mesh_http_requests_total') - before, 40, '/metrics on the primary sums the workers')
  t.equal(await node.metric('mesh_registry_up'), 1)
  t.equal(await node.stop(), 0, 'exit 0 after SIGTERM')
  t.equal(a.sockets.size + b.sockets.size, 0, 'no upstream connection left open')
})
