import t from 'tap'
import { waitFor } from '../helpers/wait'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'

t.test('a node whose heartbeat expires has its tasks rescheduled within heartbeat TTL + one reconcile interval', async (t) => {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2')
  const n3 = await cluster.addNode('node3')
  await cluster.settle()
  await cluster.createService(makeSpec('web', { replicas: 6 }))
  const before = await cluster.waitRunning('web', 6)
  const lost = before.filter((x) => x.node === n3.id)
  t.equal(lost.length, 2, 'node3 runs two tasks')

  const t0 = Date.now()
  n3.stopHeartbeat()
  const after = await waitFor(async () => {
    const live = (await cluster.tasks('web')).filter((x) => x.desired === 'running')
    return live.length === 6 && live.every((x) => x.state === 'running' && x.node !== n3.id) ? live : null
  }, { timeout: 5000, what: 'six tasks running, none on node3' })
  const took = Date.now() - t0
  t.notOk(after.some((x) => x.node === n3.id), 'no task left on node3')
  t.same(after.map((x) => x.slot).sort(), [1, 2, 3, 4, 5, 6], 'same slots')
  const bound = cluster.config.node.heartbeatTtl + cluster.config.scheduler.reconcileInterval + 2000 // + the replacement's start-up, with slack for a loaded machine
  t.ok(took < bound, `replacements running ${took} ms after the last heartbeat (TTL ${cluster.config.node.heartbeatTtl} ms)`)
  t.comment(`reschedule after node death: ${took} ms (heartbeatTtl ${cluster.config.node.heartbeatTtl} ms, reconcileInterval ${cluster.config.scheduler.reconcileInterval} ms)`)
  const old = (await cluster.tasks('web')).filter((x) => lost.some((l) => l.id === x.id))
  t.ok(old.every((x) => x.desired === 'shutdown'), 'the lost tasks are desired shutdown')
  t.ok(old.every((x) => x.state === 'orphaned' || x.state === 'shutdown'), `lost tasks orphaned (${old.map((x) => x.state).join(',')})`)
})

t.test('drain moves tasks off a node; active brings placement back', async (t) => {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  const n2 = await cluster.addNode('node2')
  await cluster.settle()
  await cluster.createService(makeSpec('web', { replicas: 4 }))
  const before = await cluster.waitRunning('web', 4)
  t.equal(before.filter((x) => x.node === n2.id).length, 2)

  await cluster.setAvailability(n2, 'drain')
  const after = await waitFor(async () => {
    const all = await cluster.tasks('web')
    const live = all.filter((x) => x.desired === 'running')
    const drained = all.filter((x) => x.node === n2.id)
    return live.length === 4 && live.every((x) => x.state === 'running' && x.node !== n2.id) && drained.every((x) => x.state === 'shutdown') ? all : null
  }, { what: 'tasks moved off the drained node and stopped there' })
  t.same(after.filter((x) => x.desired === 'running').map((x) => x.slot).sort(), [1, 2, 3, 4])
  t.equal(n2.agent?.running.length, 0, 'no process left on the drained node')

  await cluster.setAvailability(n2, 'active')
  await cluster.updateService('web', { replicas: 6 }, { bump: false })
  const six = await cluster.waitRunning('web', 6)
  t.equal(six.filter((x) => x.node === n2.id).length, 2, 'new tasks go to the emptiest node again')
})
