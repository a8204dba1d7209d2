/**
 * The registry survives the loss of a machine: 1 master, 2 replicas and 3
 * sentinels (Debian's redis-server and redis-sentinel) on loopback, 3 node
 * daemons (2 managers) and the CLI on redis+sentinel://. The master is
 * killed (-9) under a steady load through every node, right after a CLI
 * write: no client request fails, the write is still there after the
 * failover, and CLI and scheduler writes work again within 10 s.
 */
import t from 'tap'
import { RegistryStore } from '../../lib/registry/store'
import { createRedis } from '../../lib/registry/client'
import { httpGet, mesh, MeshNode } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { SentinelSet } from '../helpers/sentinel'
import { waitFor } from '../helpers/wait'
import { Load, SCHEDULER, stopAll } from './registry-fixture'

const WRITES_BACK_WITHIN_MS = 10_000
/** The test timings' heartbeat TTL is 1 s: a write may hold a node's connection for at most half of it (redis.waitTimeout). */
const NODE_SET = [...SCHEDULER, 'redis.waitTimeout=400ms'].flatMap((kv) => ['--set', kv])

t.test('kill -9 of the Redis master under load through 3 nodes: 0 failed requests, the last CLI write kept, CLI and scheduler writes back within 10 s', async (t) => {
  const set = await SentinelSet.start({ replicas: 2, sentinels: 3, password: 'failover-pw' })
  t.teardown(async () => { await set.close() })
  const url = set.url
  t.equal((await mesh(['init', '--registry-only'], url)).code, 0, 'mesh init through the sentinels')

  const conn = createRedis({ url, connectTimeout: 1000, reconnectMaxDelay: 200, name: 'test-reader' })
  conn.on('error', () => {})
  t.teardown(() => { conn.disconnect() })
  await conn.connect()
  const store = new RegistryStore(conn, 'mesh:')

  const nodes: MeshNode[] = []
  t.teardown(async () => { await Promise.all(nodes.map(async (n) => await n.stop())) })
  for (const [i, name] of ['f1', 'f2', 'f3'].entries()) nodes.push(await MeshNode.start(name, loopback(), url, [...NODE_SET, ...(i < 2 ? ['--manager'] : [])]))

  const port = await freePort('127.0.0.1')
  const created = await mesh(['service', 'create', '--name', 'nginx1', '--replicas', '3', '--publish', `${port}:80`, '--detach', '--', 'mesh', 'whoami'], url)
  t.equal(created.code, 0, created.stderr)
  const running = async (n: number): Promise<boolean> => {
    const live = [...(await store.snapshot()).tasks.values()].filter((x) => x.service === 'nginx1' && x.desired === 'running')
    return live.length === n && live.every((x) => x.state === 'running')
  }
  await waitFor(async () => await running(3), { timeout: 20_000, what: '3 running tasks of nginx1' }).catch(async (err) => {
    t.comment(JSON.stringify([...(await store.snapshot()).tasks.values()]))
    t.comment(nodes.map((n) => n.log).join('\n'))
    throw err
  })
  for (const n of nodes) await waitFor(async () => (await httpGet(`http://${n.addr}:${port}/`)).status === 200, { timeout: 15_000, what: `nginx1 on ${n.name}` })

  const loads = nodes.map((n) => new Load(`http://${n.addr}:${port}/`, { concurrency: 2, pauseMs: 10, maxMs: 60_000 }))
  t.teardown(async () => { await stopAll(loads) })
  await waitFor(() => loads.every((l) => l.result.ok > 20), { what: 'load running on every node' })

  // The last write before the kill: reported done by the CLI, then the master dies at once.
  const oldMaster = await set.masterPort()
  const marker = await mesh(['service', 'create', '--name', 'marker', '--publish', `${await freePort('127.0.0.1')}:80`, '--endpoint', '127.0.0.1:9'], url)
  t.equal(marker.code, 0, `the CLI reported the last write done ${marker.stderr}`)
  t.notMatch(marker.stderr, /replica/, 'with a replica acknowledging it')
  await set.kill(oldMaster)
  const killedAt = Date.now()

  const newMaster = waitFor(async () => { const p = await set.masterPort(); return p !== oldMaster ? p : null }, { timeout: 30_000, interval: 50, what: 'a new master' })
    .then((p) => ({ port: p, ms: Date.now() - killedAt }))
  let attempts = 0
  const cliBack = waitFor(async () => {
    attempts++
    const r = await mesh(['service', 'scale', 'nginx1=4', '--detach'], url)
    return r.code === 0 ? r : null
  }, { timeout: 30_000, interval: 100, what: 'a CLI write after the kill' }).then((r) => ({ ms: Date.now() - killedAt, confirmed: !/reached no replica/.test(r.stderr) }))
  const master = await newMaster
  const cli = await cliBack
  const placed = await waitFor(async () => [...(await store.snapshot()).tasks.values()].some((x) => x.service === 'nginx1' && x.slot === 4), { timeout: 30_000, what: 'the scheduler placing slot 4' })
    .then(() => Date.now() - killedAt)
  await waitFor(async () => await running(4), { timeout: 30_000, what: '4 running tasks of nginx1' })
  const fourRunning = Date.now() - killedAt

  // Every node follows the new master: it serves the registry's revision.
  const rev = (await store.snapshot()).rev
  for (const n of nodes) await waitFor(async () => (await n.revision()) >= rev, { timeout: 10_000, what: `${n.name} at revision ${rev}` })
  const result = await stopAll(loads)

  t.comment(`failover: new master (port ${master.port}) named by the sentinels ${master.ms} ms after the kill; first CLI write ${cli.ms} ms after it (${attempts} attempts, ${cli.confirmed ? 'a replica had it' : 'said no replica had it yet'}); ` +
    `scheduler placed the 4th task at ${placed} ms, running at ${fourRunning} ms; ${result.ok + result.failed} requests through 3 nodes, ${result.failed} failed`)
  t.equal(result.failed, 0, `zero failed requests (${JSON.stringify(result.statuses)}; first: ${result.firstFailure}, the kill at ${new Date(killedAt).toISOString()})`)
  if (result.failed > 0) t.comment(nodes.map((n) => `${n.name}:\n${n.log}`).join('\n'))
  t.ok((await store.snapshot()).services.has('marker'), 'the write the CLI reported done before the kill is still there')
  t.ok(cli.ms <= WRITES_BACK_WITHIN_MS, `a CLI write works again within ${WRITES_BACK_WITHIN_MS} ms (${cli.ms} ms)`)
  t.ok(placed <= WRITES_BACK_WITHIN_MS, `a scheduler write works again within ${WRITES_BACK_WITHIN_MS} ms (${placed} ms)`)
  t.notMatch(nodes.map((n) => n.log).join('\n'), 'failover-pw', 'the password is in no daemon log')
})
