import t, { type Test } from 'tap'
import type { TaskRecord } from '../../lib/registry/types'
import { waitFor } from '../helpers/wait'
import { httpGet, makeSpec, TestCluster } from '../helpers/cluster-fixture'

/** Samples the tasks every 20 ms until `done`, returning every sample. */
async function timeline (cluster: TestCluster, service: string, done: () => Promise<boolean>, timeout = 15_000): Promise<TaskRecord[][]> {
  const samples: TaskRecord[][] = []
  const deadline = Date.now() + timeout
  for (;;) {
    samples.push(await cluster.tasks(service))
    if (await done()) return samples
    if (Date.now() > deadline) throw new Error(`update of ${service} did not finish in ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const serving = (tasks: TaskRecord[]): TaskRecord[] => tasks.filter((x) => x.desired === 'running' && x.state === 'running')

async function setup (t: Test, order: 'stop-first' | 'start-first', failureAction: 'pause' | 'rollback' = 'pause'): Promise<TestCluster> {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2')
  await cluster.settle()
  const update = { parallelism: 1, delay: 100, order, failureAction, monitor: 300 }
  await cluster.createService(makeSpec('web', { replicas: 3, env: { VERSION: 'v1' }, update, rollback: { ...update, failureAction: 'pause' } }))
  await cluster.waitRunning('web', 3)
  return cluster
}

t.test('rolling update, stop-first, parallelism 1: one slot at a time, history kept, completed', async (t) => {
  const cluster = await setup(t, 'stop-first')
  const spec = await cluster.updateService('web', { env: { VERSION: 'v2' } })
  const samples = await timeline(cluster, 'web', async () => (await cluster.service('web')).updateState === 'completed')
  const minServing = Math.min(...samples.map((s) => serving(s).length))
  t.equal(minServing, 2, 'never fewer than replicas - parallelism tasks serving')
  t.ok(samples.every((s) => s.filter((x) => x.desired === 'running').length <= 3), 'stop-first: never more than 3 tasks desired running')
  const live = await cluster.waitRunning('web', 3, { version: spec.version })
  t.same((await Promise.all(live.map(async (x) => await httpGet(x.host, x.port)))).map((b) => b.split(' ')[1]).sort(), ['v2\n', 'v2\n', 'v2\n'], 'every task answers v2')
  const all = await cluster.tasks('web')
  for (const slot of [1, 2, 3]) {
    const old = all.filter((x) => x.slot === slot && x.specVersion === 1)
    t.ok(old.length === 1 && old[0].desired === 'shutdown' && old[0].state === 'shutdown', `slot ${slot}: the v1 task is history (shutdown)`)
    t.equal(all.find((x) => x.slot === slot && x.specVersion === spec.version)?.node, old[0]?.node, `slot ${slot}: the v2 task runs on the v1 task's node`)
  }
  t.equal((await cluster.service('web')).updateMessage, 'update completed')
})

t.test('rolling update, start-first: the new task runs before the old one stops', async (t) => {
  const cluster = await setup(t, 'start-first')
  const spec = await cluster.updateService('web', { env: { VERSION: 'v2' } })
  const samples = await timeline(cluster, 'web', async () => (await cluster.service('web')).updateState === 'completed')
  t.ok(samples.every((s) => serving(s).length >= 3), 'never fewer than 3 tasks serving')
  t.ok(samples.every((s) => s.filter((x) => x.desired === 'running').length <= 4), 'parallelism 1: at most one extra task')
  await cluster.waitRunning('web', 3, { version: spec.version })
  const all = await cluster.tasks('web')
  for (const slot of [1, 2, 3]) {
    const old = all.find((x) => x.slot === slot && x.specVersion === 1)
    const fresh = all.find((x) => x.slot === slot && x.specVersion === spec.version)
    t.ok(old !== undefined && fresh !== undefined && fresh.createdAt < old.stateAt, `slot ${slot}: new task created before the old one stopped`)
    t.equal(fresh?.node, old?.node, `slot ${slot}: the new task runs on the old task's node (start-first counts the task it replaces out)`)
  }
})

t.test('a new task failing during the update pauses it, with the error', async (t) => {
  const cluster = await setup(t, 'stop-first', 'pause')
  await cluster.updateService('web', { env: { VERSION: 'v2', CRASH_AFTER: '100' } })
  const spec = await waitFor(async () => {
    const s = await cluster.service('web')
    return s.updateState === 'paused' ? s : null
  }, { what: 'update paused' })
  t.match(spec.updateMessage, /^update paused due to failure or early termination of task web\.1 \(\w+\) failed: task: non-zero exit \(3\)$/)
  const v1 = (await cluster.tasks('web')).filter((x) => x.desired === 'running' && x.specVersion === 1)
  t.same(v1.map((x) => x.slot).sort(), [2, 3], 'slots 2 and 3 were not touched')
})

t.test('failure action rollback returns to the previous spec', async (t) => {
  const cluster = await setup(t, 'start-first', 'rollback')
  const bad = await cluster.updateService('web', { env: { VERSION: 'v2', CRASH_AFTER: '100' } })
  const states: string[] = []
  const spec = await waitFor(async () => {
    const s = await cluster.service('web')
    if (states[states.length - 1] !== s.updateState) states.push(s.updateState)
    return s.updateState === 'rollback_completed' ? s : null
  }, { interval: 10, what: 'rollback completed' })
  t.ok(states.includes('rollback_started'), `states went ${states.join(' -> ')}`)
  t.match(spec.updateMessage, 'rollback completed')
  t.same(spec.env, { VERSION: 'v1' }, 'the spec is the previous one again')
  t.ok(spec.version > bad.version, 'under a new version')
  t.same(spec.previous?.env, { VERSION: 'v2', CRASH_AFTER: '100' }, 'the failed spec is now previous')
  const live = await cluster.waitRunning('web', 3, { version: spec.version })
  t.same((await Promise.all(live.map(async (x) => await httpGet(x.host, x.port)))).map((b) => b.split(' ')[1]), ['v1\n', 'v1\n', 'v1\n'])
})

t.test('start-first with a health check: the old task stops only once the new one is healthy', async (t) => {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  await cluster.settle()
  const update = { parallelism: 1, delay: 0, order: 'start-first' as const, failureAction: 'pause' as const, monitor: 0 }
  const health = { type: 'http' as const, path: '/', interval: 1000, timeout: 500, rise: 1, fall: 1 }
  const spec = await cluster.createService(makeSpec('web', { env: { VERSION: 'v1' }, update, health }))
  const [old] = await cluster.waitRunning('web', 1)
  const verdict = async (id: string): Promise<void> => {
    await cluster.store.write([{ type: 'health', id, value: { v: 1, status: 'healthy', at: Date.now(), by: 'test', detail: '' } }])
  }
  await verdict(old.id)
  await cluster.updateService('web', { env: { VERSION: 'v2' } })
  const fresh = await waitFor(async () => (await cluster.tasks('web')).find((x) => x.specVersion === spec.version + 1 && x.state === 'running'), { what: 'new task running' })
  await new Promise((resolve) => setTimeout(resolve, 600)) // three reconcile intervals
  t.equal((await cluster.tasks('web')).find((x) => x.id === old.id)?.desired, 'running', 'running but not yet healthy: the old task keeps serving')
  t.equal((await cluster.service('web')).updateState, 'updating')
  await verdict(fresh.id)
  await waitFor(async () => (await cluster.tasks('web')).find((x) => x.id === old.id)?.state === 'shutdown', { what: 'old task stopped' })
  await waitFor(async () => (await cluster.service('web')).updateState === 'completed', { what: 'update completed' })
  t.pass('healthy: the old task stopped and the update completed')
})
