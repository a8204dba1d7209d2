import t from 'tap'
import { Agent, request } from 'node:http'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

/** A bounded request loop (count and time) counting failures. */
function loop (url: string, maxRequests: number, maxMs: number): { stop: () => Promise<{ ok: number, failed: number }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let ok = 0
  let failed = 0
  let stopped = false
  const deadline = Date.now() + maxMs
  const one = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      const req = request(url, { agent }, (res) => {
        res.resume()
        res.on('end', () => { if (res.statusCode === 200) ok++; else failed++; resolve() })
      })
      req.on('error', () => { failed++; resolve() })
      req.end()
    })
  }
  const running = (async () => {
    while (!stopped && ok + failed < maxRequests && Date.now() < deadline) await one()
  })()
  return {
    stop: async () => {
      stopped = true
      await running
      agent.destroy()
      return { ok, failed }
    }
  }
}

t.test('Redis stopped then restarted empty: zero failed requests, state restored, later changes served', async (t) => {
  const { redis, backends: [a, b, c], nodes } = await meshScenario(t, { backends: ['a', 'b', 'c'], nodes: 2 })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address], redis.url)
  for (const n of nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).status === 200, { what: `web on ${n.name}` })

  const loops = nodes.map((n) => loop(`http://${n.addr}:8080/`, 50_000, 20_000))
  await redis.stop()
  await waitFor(async () => (await nodes[0].metric('mesh_registry_up')) === 0, { what: 'mesh_registry_up 0 while Redis is down' })
  const during = await httpGet(`http://${nodes[1].addr}:8080/`)
  t.equal(during.status, 200, 'still serving from the last-known-good table while Redis is down')
  await redis.start()
  for (const n of nodes) await waitFor(async () => (await n.metric('mesh_registry_up')) === 1, { timeout: 10_000, what: `mesh_registry_up back to 1 on ${n.name}` })
  const results = await Promise.all(loops.map(async (l) => await l.stop()))
  for (const [i, r] of results.entries()) {
    t.equal(r.failed, 0, `${nodes[i].name}: no failed request through the outage (${r.ok} ok)`)
    t.ok(r.ok > 10, `${nodes[i].name}: the loop kept running`)
  }

  // The restarted Redis was empty: a node wrote its last-known-good state back.
  const ls = await meshOk(['service', 'ls'], redis.url)
  t.match(ls, /web/, 'the service is back in the registry after the empty restart')
  await waitFor(() => nodes.some((n) => /restored 1 services/.test(n.log)), { what: 'a node saying it restored the registry' })
  t.pass('a node says it restored the registry')

  await meshOk(['service', 'update', 'web', '--endpoint-add', c.address], redis.url)
  for (const n of nodes) {
    await waitFor(async () => {
      for (let i = 0; i < 3; i++) if ((await httpGet(`http://${n.addr}:8080/`)).body === 'c\n') return true
      return false
    }, { timeout: 5000, what: `${n.name} serving an endpoint added after Redis returned` })
  }
  t.pass('a change made after Redis returned is served by every node')
})
