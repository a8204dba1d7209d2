/**
 * Fault: endpoints answering 500 to everything. One is ejected after
 * health.passive5xx (5) consecutive 5xx, with the same doubling back-off as
 * connect failures; never more than max(1, 10 %) of the service's endpoints
 * are out by that rule at once, so a second failing endpoint keeps being
 * served rather than shrinking the service further.
 */
import t from 'tap'
import { Agent } from 'node:http'
import { httpGet, meshOk, statusOn } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('consecutive 5xx eject an endpoint, capped at max(1, 10 %) of the service', async (t) => {
  const names = Array.from({ length: 10 }, (_, i) => `e${i}`)
  const { redis, backends, nodes: [node] } = await meshScenario(t, { backends: names, nodeArgs: ['--set', 'health.ejectBase=2s'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', ...backends.flatMap((b) => ['--endpoint', b.address])], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  for (const b of backends) b.requests = 0
  const [bad1, bad2] = [backends[3], backends[7]]
  bad1.forceStatus = 500
  bad2.forceStatus = 500
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  let maxEjected = 0
  for (let i = 0; i < 100; i++) {
    await statusOn(agent, node.addr, 8080)
    if (i % 10 === 9) maxEjected = Math.max(maxEjected, await node.metric('mesh_endpoints', 'health="ejected"'))
  }
  const counts = [bad1.requests, bad2.requests].sort((x, y) => x - y)
  t.comment(`100 requests over 10 endpoints, 2 answering 500: the failing ones got ${counts.join(' and ')} requests; at most ${maxEjected} ejected at once`)
  // About 5 rounds of 10 until the first is ejected, then 50-59 requests over the 9 left: the other's total
  // depends on where this node's round robin started (its rank among the cluster's node ids). Ejected too, it
  // would have stopped at 5 as well.
  t.equal(counts[0], 5, 'one failing endpoint ejected right after its 5th consecutive 500')
  t.ok(counts[1] >= 9 && counts[1] <= 12, `the other, over the cap, kept its share: ${counts[1]} of 100 (about 100/10)`)
  t.equal(maxEjected, 1, 'never more than max(1, 10 %) = 1 of 10 endpoints ejected by the 5xx rule')
  t.match(node.log, /ejected \S+ for 2000 ms after 5 consecutive 500 responses/, 'ejected for health.ejectBase (2 s)')

  // The back-off doubles as for connect failures: keep the load on until a second ejection of the same endpoint.
  const started = Date.now()
  await waitFor(async () => {
    for (let i = 0; i < 20; i++) await statusOn(agent, node.addr, 8080)
    return /ejected \S+ for 4000 ms after \d+ consecutive 500 responses/.test(node.log)
  }, { what: 'a re-ejection for twice as long', timeout: 15_000, interval: 1 })
  t.pass(`re-ejected for 4000 ms once back in rotation (after ${Date.now() - started} ms more load)`)
  t.ok(await node.metric('mesh_endpoints', 'health="ejected"') <= 1, 'still at most one out')
})
