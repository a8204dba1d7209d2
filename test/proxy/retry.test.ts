/**
 * Retries go to an endpoint the request has not tried yet (issue 9,
 * defect 9): with one of three endpoints gone under 16 keep-alive
 * connections, no bodiless GET ever sees its connect refusal or the reset
 * of a pooled connection, and the dead endpoint is ejected.
 */
import t from 'tap'
import { Agent } from 'node:http'
import { httpGet, meshOk, statusOn } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('an endpoint dying under keep-alive load: every GET still answered 200', async (t) => {
  const { redis, backends: [a, b, c], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b', 'c'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address, '--endpoint', c.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  t.teardown(() => { agent.destroy() })
  const statuses = new Map<number, number>()
  let sent = 0
  const PER_CLIENT = 60
  const killAt = 200
  const killed = new Promise<void>((resolve) => {
    const timer = setInterval(() => { if (sent >= killAt) { clearInterval(timer); void c.close().then(resolve) } }, 1)
  })
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = 0; i < PER_CLIENT; i++) {
      sent++
      const s = await statusOn(agent, node.addr, 8080)
      statuses.set(s, (statuses.get(s) ?? 0) + 1)
    }
  }))
  await killed
  t.comment(`statuses over ${16 * PER_CLIENT} GETs with endpoint c killed after ${killAt}: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.equal(statuses.get(200), 16 * PER_CLIENT, 'every request answered 200')
  t.ok(await node.metric('mesh_ejections_total') >= 1, 'the dead endpoint was ejected')
})
