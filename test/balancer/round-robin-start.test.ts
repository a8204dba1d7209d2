/**
 * Each node starts its round robin at a position of its own: the first
 * request to three nodes in front of three endpoints reaches three
 * different endpoints (it used to be the first one everywhere), and after
 * that every node rotates exactly.
 */
import t from 'tap'
import { Balancer } from '../../lib/balancer/round-robin'
import { Endpoint, type PoolOptions } from '../../lib/balancer/endpoint'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const POOL = { connectTimeout: 2000, headersTimeout: 5000, bodyTimeout: 5000, keepAliveTimeout: 60_000, connections: 4, maxHeaderSize: 16384, maxQueued: 100, queueTimeout: 1000 } as PoolOptions

t.test('a balancer starts at its start, then rotates exactly; a set change keeps the rotation', async (t) => {
  const eps = ['a', 'b', 'c', 'd'].map((k, i) => new Endpoint(k, k, '127.0.0.1', 10_000 + i, POOL))
  t.teardown(async () => { await Promise.all(eps.map(async (e) => await e.close())) })
  const b = new Balancer()
  b.setEndpoints(eps.slice(0, 3), 7) // 7 mod 3 = 1
  b.setEndpoints(eps, 7) // a fourth endpoint before any pick: 7 mod 4 = 3
  const picks = Array.from({ length: 6 }, () => b.pick()?.key)
  t.same(picks, ['d', 'a', 'b', 'c', 'd', 'a'], 'starts at 7 mod 4, then exact')
  b.setEndpoints(eps.slice(0, 3), 0)
  t.same(Array.from({ length: 3 }, () => b.pick()?.key), ['b', 'c', 'a'], 'after the first pick a new start does not move it')
})

t.test('three nodes, three endpoints: the first request to each node reaches a different endpoint', async (t) => {
  const { redis, backends, nodes } = await meshScenario(t, { backends: ['a', 'b', 'c'], nodes: 3 })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', ...backends.flatMap((b) => ['--endpoint', b.address])], redis.url)
  // Wait for every node to serve the port without sending it a request (a request would be its first pick).
  for (const node of nodes) {
    await waitFor(async () => await node.metric('mesh_listeners', 'state="open"') >= 1, { what: `${node.name} listening on 8080` })
  }
  await waitFor(async () => (await Promise.all(nodes.map(async (n) => await n.revision()))).every((rev, _i, all) => rev === all[0] && rev > 0), { what: 'every node at the same revision' })
  const first = await Promise.all(nodes.map(async (n) => (await httpGet(`http://${n.addr}:8080/`)).body.trim()))
  t.same([...first].sort(), ['a', 'b', 'c'], `first answers per node: ${first.join(', ')}`)
  // Then exact rotation, in the same cyclic order on every node (endpoint key order), each from its own start.
  let cycle: string | null = null
  for (const [i, node] of nodes.entries()) {
    const seq = [first[i]]
    for (let k = 0; k < 6; k++) seq.push((await httpGet(`http://${node.addr}:8080/`)).body.trim())
    t.same(new Set(seq.slice(0, 3)).size, 3, `${node.name}: a, b and c in three requests (${seq.join(',')})`)
    t.ok(seq.every((x, k) => k < 3 || x === seq[k - 3]), `${node.name}: period 3`)
    const from = seq.indexOf('a')
    const order = [0, 1, 2].map((k) => seq[from + k]).join(',')
    cycle ??= order
    t.equal(order, cycle, `${node.name}: the same order as the others`)
  }
})
