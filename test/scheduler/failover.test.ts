import t from 'tap'
import { isMeshError } from '../../lib/errors'
import { nodeIdFor } from '../../lib/registry/ids'
import { parseLease } from '../../lib/scheduler/lease'
import { waitFor } from '../helpers/wait'
import { makeSpec, TestCluster } from '../helpers/cluster-fixture'

t.test('manager killed with SIGKILL: the standby takes over within the lease TTL; the old token is refused', async (t) => {
  const cluster = await TestCluster.start(t)
  const keys = cluster.store.keys
  // mgr1: a scheduler-only manager in its own process (drained: runs no tasks).
  const mgr1 = await cluster.spawnNode('mgr1', { manager: true, agent: false, availability: 'drain' })
  const first = await waitFor(async () => parseLease(await cluster.store.redis.get(keys.lease)), { what: 'a leader' })
  const mgr2 = await cluster.addNode('mgr2', { manager: true })
  await cluster.addNode('node3')
  await cluster.settle()
  t.equal(first.nodeId, nodeIdFor('mgr1'), 'the first manager leads')
  t.notOk(mgr2.scheduler?.leader, 'the second is standby')

  await cluster.createService(makeSpec('web', { replicas: 2 }))
  await cluster.waitRunning('web', 2)

  const t0 = Date.now()
  mgr1.kill('SIGKILL')
  await waitFor(() => mgr2.scheduler?.leader, { timeout: 5000, what: 'mgr2 leads' })
  const took = Date.now() - t0
  const ttl = cluster.config.scheduler.leaseTtl
  t.ok(took <= ttl + 1000, `failover in ${took} ms (lease TTL ${ttl} ms; 1 s of slack for a loaded machine)`)
  t.comment(`manager failover after SIGKILL: ${took} ms (leaseTtl ${ttl} ms)`)
  const second = parseLease(await cluster.store.redis.get(keys.lease))
  t.equal(second?.nodeId, mgr2.id)
  t.ok((second?.token ?? 0) > first.token, `a new fencing token (${first.token} -> ${second?.token})`)

  // The new leader schedules.
  await cluster.updateService('web', { replicas: 4 }, { bump: false })
  await cluster.waitRunning('web', 4)
  t.pass('the new leader places tasks')

  // A write carrying the dead leader's token is refused atomically.
  const before = await cluster.store.snapshot()
  const err = await cluster.store.write([{ type: 'service', id: 'web', value: { ...before.services.get('web')!, replicas: 0 } }], { fence: first.token })
    .then(() => null, (e: unknown) => e)
  t.ok(isMeshError(err, 'MESH_ERR_REGISTRY_FENCED'), 'stale token: MESH_ERR_REGISTRY_FENCED')
  t.equal((await cluster.service('web')).replicas, 4, 'nothing written')
})

t.test('a stopping leader hands over at once', async (t) => {
  const cluster = await TestCluster.start(t, { 'scheduler.leaseTtl': '3s' })
  const a = await cluster.addNode('mgrA', { manager: true })
  await waitFor(() => a.scheduler?.leader, { what: 'mgrA leads' })
  const b = await cluster.addNode('mgrB', { manager: true })
  const t0 = Date.now()
  await a.scheduler?.stop()
  await waitFor(() => b.scheduler?.leader, { timeout: 3000, what: 'mgrB leads' })
  const took = Date.now() - t0
  t.ok(took < 2500, `handover in ${took} ms: released, not left to expire (3 s TTL)`)
  t.comment(`graceful handover: ${took} ms`)
})

t.test('a leader whose token went stale has its write refused, steps down, and later wins again with a new token', async (t) => {
  const cluster = await TestCluster.start(t)
  const keys = cluster.store.keys
  const a = await cluster.addNode('mgrA', { manager: true })
  await cluster.settle()
  await waitFor(() => a.scheduler?.leader, { what: 'mgrA leads' })
  const old = a.scheduler!.lease.token
  // Another leader won in between (as after a long pause of mgrA): the fence moved on.
  await cluster.store.redis.incr(keys.fence)
  const lost = new Promise<string>((resolve) => a.scheduler!.lease.once('lost', resolve))
  await cluster.createService(makeSpec('web'))
  const reason = await lost
  t.match(reason, /fencing token \d+ is stale/, `stepped down: ${reason}`)
  t.equal((await cluster.tasks('web')).length, 0, 'the fenced pass wrote nothing')
  await waitFor(() => a.scheduler?.leader, { timeout: 5000, what: 'mgrA leads again after the lease expired' })
  t.ok(a.scheduler!.lease.token > old + 1, 'with a fresh token')
  await cluster.waitRunning('web', 1)
  t.pass('and schedules')
})
