/**
 * Shutdown order: a node daemon that gets SIGTERM first takes its tasks out
 * of every node's routing table (and waits until the nodes serve that), then
 * drains, then stops its tasks, which finish what they have in flight.
 * Real Redis, three real daemons, real `mesh whoami` tasks:
 * 50 POSTs of 5 s each through the other two nodes, half of them to the
 * dying node's tasks, plus a steady POST loop through those nodes: all 200.
 */
import t from 'tap'
import { nodeIdFor } from '../../lib/registry/ids'
import { RegistryStore } from '../../lib/registry/store'
import type { TaskRecord } from '../../lib/registry/types'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { sleep, waitFor } from '../helpers/wait'
import { alive, call, Daemon, meshEnv, type Answer } from './agent-fixture'

/** Sum of one metric's samples on a node's /metrics. */
async function metric (n: Daemon, name: string): Promise<number> {
  const text = (await call(`http://${n.admin}/metrics`)).body
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

const IN_FLIGHT = 50
const WAIT_MS = 5000

t.test('daemon SIGTERM with 50 in-flight 5 s requests through other nodes to its tasks: all 200', async (t) => {
  const redis = await TestRedis.start()
  const conn = redis.client()
  const store = new RegistryStore(conn, 'mesh:')
  const nodes: Daemon[] = []
  const pids = new Set<number>()
  t.teardown(async () => {
    await Promise.all(nodes.map(async (n) => await n.stop('SIGKILL')))
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
    conn.disconnect()
    await redis.close()
  })
  for (const [i, name] of ['s1', 's2', 's3'].entries()) nodes.push(await Daemon.start(name, loopback(), redis.url, { manager: i === 0 }))
  const [a, b, victim] = nodes
  const port = await freePort('127.0.0.1')
  const tasks = async (): Promise<TaskRecord[]> => [...(await store.snapshot()).tasks.values()].filter((x) => x.service === 'web' && x.desired === 'running')

  // Two tasks on the victim (the others drained while they are placed), then one on each other node.
  for (const n of [a, b]) t.equal((await meshEnv(redis.url, ['node', 'update', '--availability', 'drain', n.name])).code, 0)
  const created = await meshEnv(redis.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--publish', `${port}:80`,
    '--stop-grace-period', '20s', '--', 'mesh', 'whoami', '--quiet'])
  t.equal(created.code, 0, created.stderr)
  for (const n of [a, b]) t.equal((await meshEnv(redis.url, ['node', 'update', '--availability', 'active', n.name])).code, 0)
  t.equal((await meshEnv(redis.url, ['service', 'scale', 'web=4'])).code, 0)
  const placed = await waitFor(async () => {
    const live = await tasks()
    return live.length === 4 && live.every((x) => x.state === 'running') ? live : null
  }, { timeout: 20_000, what: '4 running tasks' })
  for (const x of placed) pids.add(x.pid)
  const onVictim = placed.filter((x) => x.node === nodeIdFor(victim.name))
  t.equal(onVictim.length, 2, 'two tasks on the node that will stop')
  const victimNames = new Set(onVictim.map((x) => `web.${x.slot}`))
  const url = (n: Daemon, path: string): string => `http://${n.addr}:${port}${path}`
  await waitFor(async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 8; i++) seen.add((await call(url([a, b][i % 2], '/'))).body.trim())
    return seen.size === 4
  }, { timeout: 10_000, what: 'both other nodes route to all 4 tasks' })

  // The steady loop: short POSTs through a and b, before, during and after the shutdown.
  let looping = true
  t.teardown(() => { looping = false }) // also when an assertion above threw
  const loop: Answer[] = []
  const loopDone = (async () => {
    for (let i = 0; looping; i++) {
      loop.push(await call(url([a, b][i % 2], '/'), 'POST', 'x'.repeat(512)))
      await sleep(10)
    }
  })()

  const slow = Array.from({ length: IN_FLIGHT }, async (_, i) => await call(url([a, b][i % 2], `/?wait=${WAIT_MS}ms`), 'POST', `request ${i}`, 30_000))
  // All 50 client connections open at a and b (each request is held 5 s by its task).
  await waitFor(async () => (await metric(a, 'mesh_http_connections_active')) + (await metric(b, 'mesh_http_connections_active')) >= IN_FLIGHT,
    { timeout: 5000, what: `${IN_FLIGHT} requests in flight at the other nodes` })
  const t0 = Date.now()
  victim.proc.kill('SIGTERM')
  const code = await victim.exited
  const shutdownMs = Date.now() - t0
  const answers = await Promise.all(slow)
  await sleep(500)
  looping = false
  await loopDone

  t.equal(code, 0, 'the daemon exits 0')
  const bad = answers.filter((r) => r.status !== 200)
  const viaVictim = answers.filter((r) => victimNames.has(r.body.trim()))
  t.same(bad.map((r) => `${r.status} ${r.error} ${r.body.trim()}`), [], `all ${IN_FLIGHT} in-flight requests answered 200`)
  t.ok(viaVictim.length > 0, `${viaVictim.length} of them were held by the stopping node's tasks`)
  t.ok(answers.every((r) => r.ms >= WAIT_MS - 100), 'each was in flight for its whole 5 s')
  const loopBad = loop.filter((r) => r.status !== 200)
  t.same(loopBad.map((r) => `${r.status} ${r.error} ${r.body.trim()}`), [], `the POST loop: ${loop.length} requests, none failed`)
  t.ok(onVictim.every((x) => !alive(x.pid)), 'the stopped node\'s task processes are gone')
  t.match(victim.log, /left every routing table/, 'the daemon left the tables before it stopped its tasks')
  t.comment(`SIGTERM with ${IN_FLIGHT} in-flight ${WAIT_MS} ms POSTs (${viaVictim.length} on the stopping node's tasks): ${answers.length - bad.length}/${answers.length} answered 200; ` +
    `steady POST loop ${loop.length - loopBad.length}/${loop.length} 200; daemon exited ${shutdownMs} ms after SIGTERM`)
})

/** A task that answers after 300 ms and exits the moment it gets SIGTERM (no graceful close, like many apps). */
const ABRUPT = `
const http = require('http')
const e = process.env
http.createServer((req, res) => {
  req.resume()
  req.on('end', () => setTimeout(() => res.end(e.MESH_TASK_NAME + '\\n'), 300))
}).listen(Number(e.PORT), e.MESH_TASK_HOST)
process.on('SIGTERM', () => process.exit(0))
`

t.test('daemon SIGTERM under a steady POST load to a task that exits at once on SIGTERM: no request reaches it after it left the tables', async (t) => {
  const redis = await TestRedis.start()
  const conn = redis.client()
  const store = new RegistryStore(conn, 'mesh:')
  const nodes: Daemon[] = []
  const pids = new Set<number>()
  t.teardown(async () => {
    await Promise.all(nodes.map(async (n) => await n.stop('SIGKILL')))
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
    conn.disconnect()
    await redis.close()
  })
  for (const [i, name] of ['p1', 'p2'].entries()) nodes.push(await Daemon.start(name, loopback(), redis.url, { manager: i === 0 }))
  const [a, victim] = nodes
  const port = await freePort('127.0.0.1')
  const created = await meshEnv(redis.url, ['service', 'create', '--name', 'abrupt', '--replicas', '2', '--publish', `${port}:80`, '--', process.execPath, '-e', ABRUPT])
  t.equal(created.code, 0, created.stderr)
  const placed = await waitFor(async () => {
    const live = [...(await store.snapshot()).tasks.values()].filter((x) => x.service === 'abrupt' && x.desired === 'running' && x.state === 'running')
    return live.length === 2 ? live : null
  }, { timeout: 20_000, what: '2 running tasks' })
  for (const x of placed) pids.add(x.pid)
  t.equal(placed.filter((x) => x.node === nodeIdFor(victim.name)).length, 1, 'one task on the node that will stop')
  const url = `http://${a.addr}:${port}/`
  await waitFor(async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) seen.add((await call(url)).body.trim())
    return seen.size === 2
  }, { timeout: 10_000, what: 'node a routes to both tasks' })

  // 8 clients POSTing through node a without pause: at any moment about 4 requests are held by the victim's task.
  let looping = true
  t.teardown(() => { looping = false })
  const loop: Answer[] = []
  const clients = Array.from({ length: 8 }, async () => {
    while (looping) loop.push(await call(url, 'POST', 'payload'))
  })
  await waitFor(() => loop.length >= 40, { timeout: 10_000, what: 'the load running' })
  const t0 = Date.now()
  victim.proc.kill('SIGTERM')
  t.equal(await victim.exited, 0, 'the daemon exits 0')
  const shutdownMs = Date.now() - t0
  const after = loop.length
  await waitFor(() => loop.length >= after + 40, { timeout: 10_000, what: 'the load running on after the shutdown' })
  looping = false
  await Promise.all(clients)
  const bad = loop.filter((r) => r.status !== 200)
  t.same(bad.map((r) => `${r.status} ${r.error} ${r.body.trim()}`), [], `${loop.length} POSTs through the other node, none failed`)
  t.comment(`SIGTERM under a steady POST load (8 clients, 300 ms per request, task exits at once on SIGTERM): ${loop.length - bad.length}/${loop.length} 200; daemon exited ${shutdownMs} ms after SIGTERM`)
})
