/**
 * Fault: an endpoint process killed (SIGKILL) under keep-alive load through
 * two nodes. No connect error reaches a client on either node: a GET in
 * flight on the dead endpoint is retried on another one. A POST whose
 * upstream resets after its body was read is answered 502 and reaches the
 * backend exactly once (never retried).
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { Agent } from 'node:http'
import { CLI, MeshNode, httpGet, meshOk, statusOn } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

async function whoami (name: string): Promise<{ proc: ChildProcess, address: string }> {
  const host = loopback()
  const port = await freePort(host)
  const proc = spawn(process.execPath, [CLI, 'whoami', '--listen', `${host}:${port}`, '--name', name, '--quiet'], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } })
  const address = `${host}:${port}`
  await waitFor(async () => (await httpGet(`http://${address}/`).catch(() => ({ status: 0 }))).status === 200, { what: `whoami ${name} on ${address}` })
  return { proc, address }
}

t.test('endpoint kill -9 under keep-alive load on two nodes', async (t) => {
  const { redis, backends: [resetter], nodes } = await meshScenario(t, { nodes: 2 })
  const eps = await Promise.all(['w1', 'w2', 'w3'].map(whoami))
  t.teardown(() => { for (const e of eps) if (e.proc.exitCode === null) e.proc.kill('SIGKILL') })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', ...eps.flatMap((e) => ['--endpoint', e.address])], redis.url)
  await meshOk(['service', 'create', '--name', 'post', '--publish', '8081:80', '--endpoint', resetter.address], redis.url)
  for (const n of nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).status === 200, { what: `web on ${n.name}` })

  const statuses = nodes.map(() => new Map<number, number>())
  let stop = false
  let total = 0
  const agents = nodes.map(() => new Agent({ keepAlive: true, maxSockets: 8 }))
  t.teardown(() => { for (const a of agents) a.destroy() })
  const load = nodes.flatMap((n: MeshNode, i) => Array.from({ length: 8 }, async () => {
    while (!stop) {
      const s = await statusOn(agents[i], n.addr, 8080)
      statuses[i].set(s, (statuses[i].get(s) ?? 0) + 1)
      total++
    }
  }))
  await waitFor(() => total > 500, { what: 'load under way' })
  const killedAt = total
  eps[2].proc.kill('SIGKILL')
  await waitFor(() => total > killedAt + 3000, { what: '3,000 more requests after the kill', timeout: 20_000 })
  stop = true
  await Promise.all(load)
  for (const [i, n] of nodes.entries()) {
    t.comment(`${n.name}: ${JSON.stringify(Object.fromEntries(statuses[i]))} (w3 killed after ${killedAt} of ${total} requests)`)
    t.equal(statuses[i].get(200), [...statuses[i].values()].reduce((x, y) => x + y, 0), `every GET through ${n.name} answered 200`)
  }
  let ejections = 0
  for (const n of nodes) ejections += await n.metric('mesh_ejections_total')
  t.ok(ejections >= 1, `the dead endpoint was ejected (${ejections} ejections over both nodes)`)

  const before = resetter.seen.filter((r) => r.url === '/reset').length
  const post = await httpGet(`http://${nodes[0].addr}:8081/reset`, { method: 'POST', body: 'x'.repeat(1000), headers: { 'content-type': 'text/plain' } })
  t.equal(post.status, 502, 'a POST whose upstream resets after reading its body: 502')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(resetter.seen.filter((r) => r.url === '/reset').length - before, 1, 'and it reached the backend exactly once')
})
