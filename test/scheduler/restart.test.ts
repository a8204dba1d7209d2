import t from 'tap'
import { waitFor } from '../helpers/wait'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'

t.test('a crashing task is replaced in its slot, with back-off and bounded history', async (t) => {
  const cluster = await TestCluster.start(t, { 'tasks.historyLimit': '2', 'tasks.restartDelay': '100ms', 'tasks.restartMaxDelay': '1s' })
  await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2')
  await cluster.settle()
  await cluster.createService(makeSpec('crashy', { replicas: 2, env: { CRASH_AFTER: '150' } }))

  // Each task runs ~150 ms then exits 3; the scheduler keeps replacing it.
  const tasks = await waitFor(async () => {
    const all = await cluster.tasks('crashy')
    return all.filter((x) => x.slot === 1 && x.state === 'failed' && x.desired === 'shutdown').length >= 2 ? all : null
  }, { timeout: 10_000, what: 'two failures of slot 1' })
  t.same([...new Set(tasks.map((x) => x.slot))].sort(), [1, 2], 'replacements keep their slot: no slot 3')
  const failed = tasks.filter((x) => x.state === 'failed')
  t.ok(failed.every((x) => x.error === 'task: non-zero exit (3)'), 'failed tasks show the exit code')
  const slot1 = tasks.filter((x) => x.slot === 1).sort((a, b) => a.createdAt - b.createdAt)
  t.same(slot1.map((x) => x.restarts).slice(0, 3), [0, 1, 2].slice(0, Math.min(3, slot1.length)), 'restart count grows per replacement')
  const gap = slot1[1].createdAt - slot1[0].stateAt
  t.ok(gap >= 90, `the replacement waited the restart delay (${gap} ms)`)

  // History is bounded: at most historyLimit ended tasks per slot, plus the current one.
  await waitFor(async () => (await cluster.tasks('crashy')).filter((x) => x.slot === 1 && x.restarts >= 4).length > 0, { timeout: 10_000, what: 'five restarts' })
  const later = await cluster.tasks('crashy')
  for (const slot of [1, 2]) {
    const ended = later.filter((x) => x.slot === slot && x.desired !== 'running')
    t.ok(ended.length <= 2, `slot ${slot} keeps ${ended.length} ended tasks (limit 2)`)
  }
  // Back-off doubles: the fifth run waited 100 ms * 2^3 after the fourth ended.
  const recent = later.filter((x) => x.slot === 1).sort((a, b) => a.createdAt - b.createdAt)
  const fifth = recent.findIndex((x) => x.restarts === 4)
  const waited = recent[fifth].createdAt - recent[fifth - 1].stateAt
  t.ok(waited >= 780, `back-off doubled to ${waited} ms before the fifth run`)
})

t.test('restart conditions: none leaves the slot empty, on-failure does not rerun a completed task', async (t) => {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  await cluster.settle()
  await cluster.createService(makeSpec('once', { command: [process.execPath, '-e', 'process.exit(1)'], restart: { condition: 'none', delay: 0, maxAttempts: 0 } }))
  await cluster.createService(makeSpec('job', { command: [process.execPath, '-e', 'console.log("ok")'], restart: { condition: 'on-failure', delay: 0, maxAttempts: 0 } }))
  await cluster.createService(makeSpec('capped', { command: [process.execPath, '-e', 'process.exit(2)'], restart: { condition: 'any', delay: 50, maxAttempts: 2 } }))
  await waitFor(async () => {
    const all = await cluster.tasks()
    return all.some((x) => x.service === 'once' && x.state === 'failed') && all.some((x) => x.service === 'job' && x.state === 'complete') &&
      all.filter((x) => x.service === 'capped' && x.state === 'failed').length === 3
  }, { what: 'tasks ended' })
  await new Promise((resolve) => setTimeout(resolve, 800)) // several reconcile intervals: nothing more may happen
  const all = await cluster.tasks()
  t.equal(all.filter((x) => x.service === 'once').length, 1, 'condition none: not restarted')
  t.equal(all.filter((x) => x.service === 'job').length, 1, 'condition on-failure: a completed task is not rerun')
  t.equal(all.filter((x) => x.service === 'capped').length, 3, 'maxAttempts 2: the first run plus two restarts')
})
