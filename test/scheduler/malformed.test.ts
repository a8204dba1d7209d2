import t from 'tap'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'
import { writeRaw } from '../helpers/raw-record'

t.test('service records missing what the scheduler reads are skipped; the scheduler keeps converging the others', async (t) => {
  const cluster = await TestCluster.start(t)
  const node1 = await cluster.addNode('node1', { manager: true })
  await cluster.addNode('node2')
  await cluster.settle()
  await cluster.createService(makeSpec('web'))
  await cluster.waitRunning('web', 1)

  const client = cluster.redis.client()
  t.teardown(() => { client.disconnect() })
  const whole = makeSpec('broken')
  const without = (field: string): string => JSON.stringify({ ...whole, [field]: undefined })
  // Each passed the old codec (id, name, replicas, ports, hosts, version present) and crashed a consumer.
  await writeRaw(client, 'service', 'no-command', without('command'))
  await writeRaw(client, 'service', 'no-update', JSON.stringify({ ...whole, update: { parallelism: 1 } }))
  await writeRaw(client, 'service', 'no-restart', without('restart'))
  await writeRaw(client, 'service', 'no-mode', without('mode'))
  await writeRaw(client, 'service', 'no-previous-command', JSON.stringify({ ...whole, previous: { ...whole, previous: undefined, command: undefined } }))
  await writeRaw(client, 'service', 'v2', JSON.stringify({ ...whole, v: 2 }))
  await writeRaw(client, 'service', 'junk', '{"v":1,')
  await writeRaw(client, 'task', 'no-desired', JSON.stringify({ v: 1, id: 'x', serviceId: whole.id, service: 'broken', slot: 1, node: node1.id, static: false, host: '', port: 0, state: 'assigned' }))

  await cluster.updateService('web', { replicas: 3 }, { bump: false })
  const running = await cluster.waitRunning('web', 3, { timeout: 15_000 })
  t.equal(running.length, 3, 'web scaled to 3 after the malformed records arrived')
  t.ok(node1.scheduler?.leader, 'the manager still leads (it did not crash or step down)')
  const snap = await cluster.store.snapshot()
  t.same(snap.skipped.map((s) => s.key.split(' ')[1]).sort(), ['junk', 'no-command', 'no-desired', 'no-mode', 'no-previous-command', 'no-restart', 'no-update', 'v2'], 'every malformed record is skipped by readers')
})
