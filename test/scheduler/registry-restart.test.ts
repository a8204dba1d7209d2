import t from 'tap'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'
import { waitFor } from '../helpers/wait'

t.test('Redis restarted empty: the nodes restore it and the scheduler replaces no task', async (t) => {
  // Heartbeats (every 1 s) come back well after the nodes notice the empty registry (every 100 ms).
  const cluster = await TestCluster.start(t, { 'node.heartbeatInterval': '1s', 'node.heartbeatTtl': '3s' })
  const nodes = [await cluster.addNode('node1', { manager: true }), await cluster.addNode('node2'), await cluster.addNode('node3')]
  await cluster.settle()
  await cluster.createService(makeSpec('web', { replicas: 5 }))
  const before = (await cluster.waitRunning('web', 5)).map((x) => x.id).sort()
  const processes = nodes.flatMap((n) => n.agent?.running ?? []).sort()
  t.same(processes, before, 'the agents run exactly these 5 tasks')

  const restartedAt = Date.now()
  await cluster.redis.stop()
  await cluster.redis.start()
  await waitFor(async () => { const s = await cluster.store.snapshot(); return s.epoch !== '' && s.restoring === null }, { what: 'the registry restored and its window closed' })
  t.comment(`restored and window closed ${Date.now() - restartedAt} ms after the restart`)

  // Over a heartbeat TTL (3 s) and many reconcile intervals (200 ms): the same 5 tasks, running, nothing new.
  const seen: string[] = []
  const until = Date.now() + 4000
  while (Date.now() < until) {
    const tasks = await cluster.tasks('web')
    const view = JSON.stringify(tasks.map((x) => [x.id, x.desired, x.state]).sort())
    if (tasks.map((x) => x.id).sort().join() !== before.join() || tasks.some((x) => x.state !== 'running' || x.desired !== 'running')) seen.push(view)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.same(seen, [], 'for 4 s after the restore: exactly the 5 tasks from before, all desired and running')
  t.same(nodes.flatMap((n) => n.agent?.running ?? []).sort(), before, 'the same 5 task processes still run')
  t.ok(nodes[0].scheduler?.leader, 'the manager leads again')
})
