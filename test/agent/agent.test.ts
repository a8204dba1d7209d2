import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { nodeIdFor } from '../../lib/registry/ids'
import { SCHEMA_VERSION, type TaskRecord } from '../../lib/registry/types'
import { newId } from '../../lib/util/ids'
import { waitFor } from '../helpers/wait'
import { httpGet, makeSpec, TestCluster, type TestNode } from '../helpers/cluster-fixture'

/** A task record as the scheduler writes it, assigned to `node`. */
function assigned (spec: { id: string, name: string, version: number }, node: TestNode | { id: string }, slot = 1): TaskRecord {
  const now = Date.now()
  return {
    v: SCHEMA_VERSION, id: newId(), serviceId: spec.id, service: spec.name, slot, node: node.id, static: false, host: '', port: 0,
    desired: 'running', state: 'assigned', error: '', specVersion: spec.version, createdAt: now, stateAt: now, pid: 0, exitCode: null, restarts: 0
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids whose parent is `ppid` (from /proc/<pid>/stat). */
function childrenOf (ppid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name))
    } catch {
      // gone
    }
  }
  return out
}

t.test('agent runs an assigned task: env, port, readiness, logs, stop', async (t) => {
  // Something of the daemon's own environment a task must not see (an operator's credential).
  process.env.OPERATOR_TOKEN = 'hunter2'
  t.teardown(() => { delete process.env.OPERATOR_TOKEN })
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
  const allowed = new Set(['PATH', 'HOME', 'LANG', 'TZ', 'PORT', 'MESH_TASK_HOST', 'MESH_TASK_NAME', 'MESH_TASK_ID', 'MESH_TASK_SLOT', 'MESH_TASK_OWNER',
    'MESH_SERVICE_NAME', 'MESH_NODE_NAME', 'VERSION', 'EXTRA'])
  // tap's process-info hook adds its own variables to every process this test process spawns: not the agent's doing.
  const harness = (k: string): boolean => k.startsWith('_TAPJS_') || (k === 'NODE_OPTIONS' && env[k].includes('@tapjs'))
  t.same(Object.keys(env).filter((k) => !allowed.has(k) && !harness(k)), [], 'a minimal environment: nothing else of the daemon\'s (no OPERATOR_TOKEN, no MESH_* config)')
  t.equal(env.PATH, process.env.PATH, 'PATH is passed on')

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

t.test('a node daemon killed with SIGKILL takes its tasks with it (supervisor)', async (t) => {
  const cluster = await TestCluster.start(t)
  const child = await cluster.spawnNode('doomed')
  const spec = await cluster.createService(makeSpec('web'))
  const task = assigned(spec, { id: nodeIdFor('doomed') })
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])
  const running = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.state === 'running'), { what: 'running' })
  t.ok(alive(running.pid), 'the task process runs')
  const t0 = Date.now()
  child.kill('SIGKILL')
  await waitFor(() => !alive(running.pid), { timeout: spec.stopGrace + 3000, what: `task pid ${running.pid} gone after its daemon was SIGKILLed` })
  t.comment(`daemon SIGKILL -> task gone in ${Date.now() - t0} ms (stop grace ${spec.stopGrace} ms)`)
  t.pass('no task outlives its daemon')
})

t.test('a restarted node stops task processes left by its previous life, even when their records are gone', async (t) => {
  const cluster = await TestCluster.start(t)
  const child = await cluster.spawnNode('phoenix')
  const spec = await cluster.createService(makeSpec('web'))
  const task = assigned(spec, { id: nodeIdFor('phoenix') })
  await cluster.store.write([{ type: 'task', id: task.id, value: task }])
  const running = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.state === 'running'), { what: 'running' })
  // The whole tree dies at once except the task (daemon and its supervisors SIGKILLed): a real orphan, ppid 1.
  const supervisors = childrenOf(child.pid ?? 0)
  t.ok(supervisors.length > 0, 'the task runs under a supervisor')
  for (const pid of [child.pid ?? 0, ...supervisors]) process.kill(pid, 'SIGKILL')
  await waitFor(() => supervisors.every((pid) => !alive(pid)), { what: 'daemon and supervisors gone' })
  t.ok(alive(running.pid), 'the orphan still runs')
  // Meanwhile the service is removed and its records deleted (as the scheduler does for a down node).
  await cluster.store.write([{ type: 'task', id: task.id, value: null }, { type: 'service', id: 'web', value: null }])
  const t0 = Date.now()
  await cluster.addNode('phoenix')
  await waitFor(() => !alive(running.pid), { timeout: 10_000, what: `orphan pid ${running.pid} stopped by the restarted node` })
  t.comment(`restarted node -> orphan stopped in ${Date.now() - t0} ms`)
})
