import t from 'tap'
import { waitFor } from '../helpers/wait'
import { httpGet, makeSpec, TestCluster } from '../helpers/cluster-fixture'

const perNode = (tasks: Array<{ node: string }>, cluster: TestCluster): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const x of tasks) out[cluster.nodeName(x.node)] = (out[cluster.nodeName(x.node)] ?? 0) + 1
  return out
}

t.test('spread placement, scale up and down, every task answers', async (t) => {
  const cluster = await TestCluster.start(t)
  await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2')
  await cluster.addNode('node3')
  await cluster.settle()

  await cluster.createService(makeSpec('web', { replicas: 1 }))
  const one = await cluster.waitRunning('web', 1)
  t.equal(one[0].slot, 1)
  t.equal(await httpGet(one[0].host, one[0].port), 'web.1 \n', 'the task answers with its name')

  await cluster.updateService('web', { replicas: 5 }, { bump: false })
  const five = await cluster.waitRunning('web', 5)
  t.same(five.map((x) => x.slot).sort(), [1, 2, 3, 4, 5], 'slots 1..5')
  const spread = Object.values(perNode(five, cluster)).sort()
  t.same(spread, [1, 2, 2], `spread over all three nodes (${JSON.stringify(perNode(five, cluster))})`)
  const answers = new Set(await Promise.all(five.map(async (x) => await httpGet(x.host, x.port))))
  t.equal(answers.size, 5, '5 distinct answers')
  t.equal((await cluster.tasks('web')).length, 5, 'scaling up replaced nothing')

  await cluster.updateService('web', { replicas: 2 }, { bump: false })
  const two = await cluster.waitRunning('web', 2)
  t.same(two.map((x) => x.slot).sort(), [1, 2], 'scale down removes the highest slots')
  await waitFor(async () => (await cluster.tasks('web')).filter((x) => x.slot > 2).every((x) => x.desired === 'shutdown' && x.state === 'shutdown'),
    { what: 'slots 3-5 shut down' })
})

t.test('placement honours availability; global mode runs one task per active node', async (t) => {
  const cluster = await TestCluster.start(t)
  const n1 = await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2', { availability: 'pause' })
  await cluster.addNode('node3')
  await cluster.settle()

  await cluster.createService(makeSpec('web', { replicas: 4 }))
  const four = await cluster.waitRunning('web', 4)
  t.same(perNode(four, cluster), { node1: 2, node3: 2 }, 'nothing placed on the paused node')

  await cluster.createService(makeSpec('agent', { mode: 'global', replicas: 0 }))
  const global = await cluster.waitRunning('agent', 2)
  t.same(Object.keys(perNode(global, cluster)).sort(), ['node1', 'node3'], 'one per active node')
  t.same(global.map((x) => x.slot).sort(), [1, 2], 'global tasks get distinct slots')

  await cluster.addNode('node4')
  const three = await cluster.waitRunning('agent', 3)
  t.ok(three.some((x) => cluster.nodeName(x.node) === 'node4'), 'a node that joins gets the global task')

  // Service removed: tasks told to go, stopped, then deleted.
  await cluster.removeService('agent')
  await waitFor(async () => (await cluster.tasks('agent')).length === 0, { what: 'tasks of the removed service deleted' })
  t.pass('removed service: every task stopped and deleted')
  t.equal((await cluster.running('web')).length, 4, 'other services untouched')
  t.ok(n1.scheduler?.leader, 'node1 leads')
})
