import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('active HTTP checks: new endpoints wait for a pass; fall ejects, rise returns; one prober per endpoint', async (t) => {
  const { redis, backends: [a, b], nodes } = await meshScenario(t, { backends: ['a', 'b'], nodes: 3 })
  b.healthy = false
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address,
    '--health-path', '/health', '--health-interval', '100ms', '--health-timeout', '500ms', '--health-rise', '2', '--health-fall', '2'], redis.url)

  for (const n of nodes) {
    await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).status === 200, { what: `a healthy on ${n.name}` })
    for (let i = 0; i < 4; i++) t.equal((await httpGet(`http://${n.addr}:8080/`)).body, 'a\n', `${n.name}: failing b takes no traffic`)
  }
  b.healthy = true
  for (const n of nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).body === 'b\n', { what: `b healthy on ${n.name}` })
  a.healthy = false
  for (const n of nodes) {
    await waitFor(async () => {
      for (let i = 0; i < 3; i++) if ((await httpGet(`http://${n.addr}:8080/`)).body !== 'b\n') return false
      return true
    }, { what: `a ejected by its check on ${n.name}` })
  }
  t.pass('a failing its checks left every node\'s table')

  const probes = await Promise.all(nodes.map(async (n) => await n.metric('mesh_health_probes_total')))
  const fromHealthz = await Promise.all(nodes.map(async (n) => (JSON.parse((await httpGet(`http://${n.admin}/healthz`)).body) as { health_probes: number }).health_probes))
  t.ok(fromHealthz.every((h, i) => h >= probes[i]), `/healthz says health_probes too (${fromHealthz.join('/')}; metric ${probes.join('/')})`)
  const probers = probes.filter((p) => p > 0).length
  t.ok(probers >= 1 && probers <= 2, `each endpoint is probed by one node (probing nodes: ${probers}, probes ${probes.join('/')})`)
  const healthRequests = a.requests + b.requests
  t.ok(healthRequests < probes.reduce((x, y) => x + y, 0) + 200, 'probe traffic is not multiplied by the node count')
})
