import t from 'tap'
import { SCHEMA_VERSION, type TaskRecord } from '../../lib/registry/types'
import { newId } from '../../lib/util/ids'
import { waitFor } from '../helpers/wait'
import { httpGet, makeSpec, TestCluster, type TestNode } from '../helpers/cluster-fixture'

/** A task record as the scheduler writes it, assigned to `node`. */
function assigned (spec: { id: string, name: string, version: number }, node: TestNode, slot = 1): TaskRecord {
  const now = Date.now()
  return {
    v: SCHEMA_VERSION, id: newId(), serviceId: spec.id, service: spec.name, slot, node: node.id, static: false, host: '', port: 0,
    desired: 'running', state: 'assigned', error: '', specVersion: spec.version, createdAt: now, stateAt: now, pid: 0, exitCode: null, restarts: 0
  }
}

t.test('agent runs an assigned task: env, port, readiness, logs, stop', async (t) => {
  const cluster = await TestCluster.start(t)
  const node = await cluster.addNode('agent1')
  const spec = await cluster.createService(makeSpec('web', { env: { VERSION: 'v1', EXTRA: 'x=y' } }))
  const task = assigned(spec, node, 3)
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])

  const running = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.id === task.id && x.state === 'running'), { what: 'task running' })
  t.equal(running.host, node.addr, 'listens on the node advertise address')
  t.ok(running.port >= 30000 && running.port <= 39999, `port ${running.port} is from tasks.portRange`)
  t.ok(running.pid > 0, 'pid reported')

  const env = JSON.parse(await httpGet(running.host, running.port, '/env')) as Record<string, string>
  t.same({
    PORT: env.PORT, MESH_TASK_HOST: env.MESH_TASK_HOST, MESH_TASK_NAME: env.MESH_TASK_NAME, MESH_TASK_ID: env.MESH_TASK_ID,
    MESH_TASK_SLOT: env.MESH_TASK_SLOT, MESH_SERVICE_NAME: env.MESH_SERVICE_NAME, MESH_NODE_NAME: env.MESH_NODE_NAME,
    VERSION: env.VERSION, EXTRA: env.EXTRA
  }, {
    PORT: String(running.port), MESH_TASK_HOST: node.addr, MESH_TASK_NAME: 'web.3', MESH_TASK_ID: task.id,
    MESH_TASK_SLOT: '3', MESH_SERVICE_NAME: 'web', MESH_NODE_NAME: 'agent1', VERSION: 'v1', EXTRA: 'x=y'
  }, 'task env: PORT, MESH_* and the service env')
  t.equal(await httpGet(running.host, running.port), 'web.3 v1\n')
  t.notOk(Object.keys(env).some((k) => k.startsWith('MESH_') && !k.startsWith('MESH_TASK_') && k !== 'MESH_SERVICE_NAME' && k !== 'MESH_NODE_NAME'),
    'the daemon\'s own MESH_* config is not passed on')

  // Logs: stdout and stderr lines land in the service's stream with the fields `service logs` reads.
  const logs = await waitFor(async () => {
    const entries = await cluster.store.redis.xrange(cluster.store.keys.logs('web'), '-', '+')
    const rows = entries.map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])))
    return rows.some((r) => r.line.startsWith('request /env')) && rows.some((r) => r.stream === 'stderr') ? rows : null
  }, { what: 'log lines in the stream' })
  const listening = logs.find((r) => r.line.startsWith('listening on'))
  t.same(listening, { task: task.id, name: 'web.3', node: 'agent1', stream: 'stdout', line: `listening on ${node.addr}:${running.port}` })
  t.ok(logs.some((r) => r.stream === 'stderr' && r.line === 'stderr hello from web.3'), 'stderr lines too')

  // Desired shutdown: SIGTERM, reported shutdown, port closed.
  await cluster.store.write([{ type: 'task', id: task.id, value: { ...running, desired: 'shutdown' } }])
  const stopped = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.id === task.id && x.state === 'shutdown'), { what: 'task shutdown' })
  t.equal(stopped.desired, 'shutdown')
  await t.rejects(httpGet(running.host, running.port), 'the process is gone')
  await waitFor(async () => (await cluster.store.redis.xrange(cluster.store.keys.logs('web'), '-', '+')).some(([, f]) => f.includes('SIGTERM')), { what: 'the task\'s SIGTERM line in the log stream' })
  t.pass('the task saw SIGTERM')
})

t.test('a command that cannot start is a failed task with the OS error', async (t) => {
  const cluster = await TestCluster.start(t)
  const node = await cluster.addNode('agent1')
  const spec = await cluster.createService(makeSpec('bad', { command: ['nosuchcmd', '--flag'] }))
  const task = assigned(spec, node)
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])
  const failed = await waitFor(async () => (await cluster.tasks('bad')).find((x) => x.state === 'failed'), { what: 'task failed' })
  t.equal(failed.error, 'spawn nosuchcmd ENOENT')
  t.equal(failed.desired, 'running', 'the agent does not touch desired state (the scheduler decides)')
})

t.test('exit codes: non-zero is failed, zero is complete', async (t) => {
  const cluster = await TestCluster.start(t)
  const node = await cluster.addNode('agent1')
  const s1 = await cluster.createService(makeSpec('exit3', { command: [process.execPath, '-e', 'process.exit(3)'] }))
  const s2 = await cluster.createService(makeSpec('exit0', { command: [process.execPath, '-e', 'console.log("done")'] }))
  const a = assigned(s1, node)
  const b = assigned(s2, node)
  await cluster.store.write([{ type: 'task', id: a.id, value: a }, { type: 'task', id: b.id, value: b }])
  const [fa, fb] = await waitFor(async () => {
    const all = await cluster.tasks()
    const x = all.find((r) => r.id === a.id)
    const y = all.find((r) => r.id === b.id)
    return x?.state === 'failed' && y?.state === 'complete' ? [x, y] : null
  }, { what: 'both tasks ended' })
  t.equal(fa.error, 'task: non-zero exit (3)')
  t.equal(fa.exitCode, 3)
  t.equal(fb.error, '')
  t.equal(fb.exitCode, 0)
})

t.test('agent stop reports shutdown; a restarted agent fails tasks it does not own', async (t) => {
  const cluster = await TestCluster.start(t)
  const node = await cluster.addNode('agent1')
  const spec = await cluster.createService(makeSpec('web'))
  const task = assigned(spec, node)
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])
  const running = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.state === 'running'), { what: 'running' })

  await node.agent?.stop()
  const down = (await cluster.tasks('web'))[0]
  t.equal(down.state, 'shutdown', 'daemon stop: task stopped and reported before stop() resolves')
  await t.rejects(httpGet(running.host, running.port), 'process gone')

  // A record that claims running on this node, from a previous life of the daemon.
  const stale: TaskRecord = { ...assigned(spec, node, 2), state: 'running', host: node.addr, port: 1, pid: 0 }
  await cluster.store.write([{ type: 'task', id: stale.id, value: stale }])
  const again = await cluster.addNode('agent1')
  const orphan = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.id === stale.id && x.state === 'failed'), { what: 'orphan failed' })
  t.equal(orphan.error, 'orphaned after node restart')
  t.equal(again.agent?.running.length, 0)
})
