import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('three nodes each spread requests exactly round robin over every endpoint', async (t) => {
  const { redis, backends, nodes } = await meshScenario(t, { backends: ['a', 'b', 'c'], nodes: 3 })

  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', ...backends.flatMap((b) => ['--endpoint', b.address])], redis.url)

  for (const node of nodes) {
    await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: `port 8080 served on ${node.name}` })
    const counts: Record<string, number> = {}
    for (let i = 0; i < 30; i++) {
      const r = await httpGet(`http://${node.addr}:8080/`)
      t.equal(r.status, 200)
      counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1
    }
    t.same(counts, { a: 10, b: 10, c: 10 }, `${node.name}: 30 requests, 10 per endpoint`)
  }
  const total = await nodes[0].metric('mesh_http_requests_total', 'code_class="2xx"')
  t.ok(total >= 30, `node metrics count the requests (${total})`)
})
