/**
 * Task output shipping: through a Redis outage one retry loop runs however
 * many lines arrive, and every line lands once, in order, when Redis is back;
 * `service rm` deletes the log stream for good (the stopping tasks' last
 * lines do not re-create it).
 */
import t from 'tap'
import type Redis from 'ioredis'
import { LogShipper, type LogLine } from '../../lib/agent/logs'
import { createRedis } from '../../lib/registry/client'
import { Keys } from '../../lib/registry/keys'
import { SCHEMA_VERSION, type TaskRecord } from '../../lib/registry/types'
import { createLogger } from '../../lib/util/log'
import { newId } from '../../lib/util/ids'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'
import { TestRedis } from '../helpers/redis'
import { sleep, waitFor } from '../helpers/wait'
import { mesh } from '../cli/mesh'

async function lines (redis: Redis, key: string): Promise<string[]> {
  return (await redis.xrange(key, '-', '+')).map(([, f]) => f[f.indexOf('line') + 1])
}

t.test('a Redis outage: one retry loop, every line once and in order afterwards', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const keys = new Keys('mesh:')
  const conn = createRedis({ url: r.url, connectTimeout: 1000, reconnectMaxDelay: 200, name: 'logs-test' })
  conn.on('error', () => {})
  await conn.connect()
  t.teardown(() => { conn.disconnect() })
  const admin = r.client()
  t.teardown(() => { admin.disconnect() })
  const serviceId = newId()
  const seed = async (): Promise<void> => {
    await admin.set(keys.epoch, 'e1')
    await admin.hset(keys.services, 'web', JSON.stringify({ id: serviceId, name: 'web' }))
  }
  await seed()

  // Count the writes the shipper tries (a command, or a pipeline of them): the cost of its retry loops.
  let sent = 0
  const send = conn.sendCommand.bind(conn)
  conn.sendCommand = ((...a: Parameters<Redis['sendCommand']>) => { sent++; return send(...a) }) as Redis['sendCommand']
  const pipeline = conn.pipeline.bind(conn)
  conn.pipeline = ((...a: Parameters<Redis['pipeline']>) => { sent++; return pipeline(...a) }) as Redis['pipeline']

  const shipper = new LogShipper(conn, keys, 'n1', 1000, createLogger('logs-test'))
  const line = (i: number): LogLine => ({ service: 'web', serviceId, task: 't1', name: 'web.1', stream: 'stdout', line: `line ${i}` })
  shipper.push(line(0))
  await waitFor(async () => (await lines(admin, keys.logs('web'))).length === 1, { what: 'first line in the stream' })

  await r.stop()
  await waitFor(() => conn.status !== 'ready', { what: 'the shipper connection notices the outage' })
  for (let i = 1; i <= 50; i++) {
    shipper.push(line(i))
    await sleep(20)
  }
  const before = sent
  await sleep(3000)
  const during = sent - before
  t.comment(`outage: ${during} writes tried in 3 s with 50 lines pending`)
  t.ok(during <= 5, `one retry loop, about once a second (${during} writes in 3 s; one loop per failed flush would be ~50 loops x 3)`)

  await r.start() // back empty: no epoch, the lines wait for the restore
  await waitFor(() => conn.status === 'ready', { what: 'reconnected' })
  await sleep(1500)
  t.equal(await admin.exists(keys.logs('web')), 0, 'nothing written into a registry without an epoch')
  await seed() // the nodes restore the registry
  const got = await waitFor(async () => { const l = await lines(admin, keys.logs('web')); return l.length >= 50 ? l : null }, { what: 'the pending lines after the restore' })
  t.same(got, Array.from({ length: 50 }, (_, i) => `line ${i + 1}`), 'every line once, in order')
})

t.test('service rm: the stopping tasks\' last lines do not re-create the log stream', async (t) => {
  const cluster = await TestCluster.start(t)
  const node = await cluster.addNode('logs1')
  // A task that says goodbye on SIGTERM, after `service rm` already dropped its stream.
  const script = "console.log('hello'); process.on('SIGTERM', () => { console.log('bye'); setTimeout(() => process.exit(0), 50) }); setInterval(() => {}, 1000)"
  const spec = await cluster.createService(makeSpec('chatty', { command: [process.execPath, '-e', script] }))
  const now = Date.now()
  const task: TaskRecord = {
    v: SCHEMA_VERSION, id: newId(), serviceId: spec.id, service: spec.name, slot: 1, node: node.id, static: false, host: '', port: 0,
    desired: 'running', state: 'assigned', error: '', specVersion: spec.version, createdAt: now, stateAt: now, pid: 0, exitCode: null, restarts: 0
  }
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])
  const key = cluster.store.keys.logs('chatty')
  await waitFor(async () => (await lines(cluster.store.redis, key)).includes('hello'), { what: 'hello in the stream' })

  const rm = await mesh(cluster.redis.url, ['service', 'rm', 'chatty'])
  t.equal(rm.code, 0, rm.stderr)
  await waitFor(async () => (await cluster.tasks('chatty')).every((x) => x.state === 'shutdown'), { what: 'the task stopped' })
  // The goodbye line was read and shipped by now or is about to be: give it a bounded moment to (not) show up.
  const deadline = Date.now() + 1000
  let exists = 0
  while (exists === 0 && Date.now() < deadline) {
    exists = await cluster.store.redis.exists(key)
    if (exists === 0) await sleep(100)
  }
  t.equal(exists, 0, 'no log stream of the removed service (its task\'s last line was dropped, not appended)')
})
