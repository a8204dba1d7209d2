/**
 * Restore is freshest-wins: of the nodes that refill a registry that came
 * back empty, the one holding the highest revision wins, whoever writes
 * first; the fencing counter continues above every token handed out.
 */
import t from 'tap'
import { loadConfig } from '../../lib/config/load'
import { isMeshError } from '../../lib/errors'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { Lease } from '../../lib/scheduler/lease'
import { FAST, makeSpec, openNode, type TestNode } from '../helpers/cluster-fixture'
import { Partition } from '../helpers/partition'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

const TIMINGS = { ...FAST, 'node.heartbeatTtl': '3s', 'redis.reconnectMaxDelay': '100ms' }

t.test('a stale node that reconnects first is replaced by the freshest one; removed services stay removed; the fence survives', async (t) => {
  const redis = await TestRedis.start()
  const admin = createRedis({ url: redis.url, connectTimeout: 2000, reconnectMaxDelay: 100, name: 'test-admin' })
  admin.on('error', () => {})
  await admin.connect()
  const store = new RegistryStore(admin, 'mesh:')
  const nodes: TestNode[] = []
  const partitions: Partition[] = []
  t.teardown(async () => {
    for (const n of nodes) await n.close()
    for (const p of partitions) await p.close()
    admin.disconnect()
    await redis.close()
  })
  const open = async (name: string): Promise<{ node: TestNode, partition: Partition }> => {
    const partition = await Partition.start(redis.port)
    partitions.push(partition)
    const node = await openNode(loadConfig({ env: {}, overrides: { ...TIMINGS, 'redis.url': partition.url } }), name, { agent: false })
    nodes.push(node)
    return { node, partition }
  }
  const services = async (): Promise<string[]> => [...(await store.snapshot()).services.keys()].sort()

  const a = await open('a')
  const b = await open('b')
  await store.write([{ type: 'service', id: 'old', value: makeSpec('old') }])
  const leader = new Lease(admin, store.keys, 'paused-leader', 60_000)
  leader.start()
  const token = await waitFor(() => leader.token > 0 ? leader.token : null, { what: 'the first leader wins the lease' })
  leader.stepDown('test: paused')
  await leader.stop()
  const views = [a, b].map((x) => x.node.ctx.feed)
  await waitFor(() => views.every((f) => f.state.services.has('old') && f.fence === token && f.state.alive.has(a.node.id) && f.state.alive.has(b.node.id)),
    { what: 'both nodes see service old, the fence and each other alive' })

  // a is partitioned away; the cluster moves on without it.
  a.partition.cut()
  await store.write([{ type: 'service', id: 'old', value: null }, { type: 'service', id: 'new', value: makeSpec('new') }])
  await waitFor(() => b.node.ctx.feed.state.services.has('new'), { what: 'b follows the newer state' })
  t.same(await services(), ['new'], 'before the restart: service new, old removed')
  const freshRev = b.node.ctx.feed.state.rev

  // Redis restarts empty while both are cut off; the stale node reconnects first.
  b.partition.cut()
  await redis.stop()
  await redis.start()
  await waitFor(async () => await admin.ping() === 'PONG', { what: 'the test\'s own connection is back' })
  const noEpoch = await store.write([{ type: 'service', id: 'cli', value: makeSpec('cli') }]).catch((err: Error) => err)
  t.ok(isMeshError(noEpoch, 'MESH_ERR_REGISTRY_EPOCH') && /being restored/.test(noEpoch.message), `a write into the empty registry is refused: ${String((noEpoch as Error).message)}`)
  t.equal((await store.snapshot()).epoch, '', 'and founds no epoch')

  a.partition.heal()
  const staleRestore = await waitFor(async () => (await store.snapshot()).restoring, { what: 'the stale node restores first' })
  t.equal(staleRestore.node, a.node.id, 'node a restored first')
  t.same(await services(), ['old'], 'for now the registry holds a\'s stale view')
  const inWindow = await store.write([{ type: 'service', id: 'cli', value: makeSpec('cli') }]).catch((err: Error) => err)
  t.ok(isMeshError(inWindow, 'MESH_ERR_REGISTRY_EPOCH') && /being restored/.test(inWindow.message), 'a write while the restore window is open is refused')

  const healedAt = Date.now()
  b.partition.heal()
  await waitFor(async () => (await store.snapshot()).restoring === null, { what: 'the restore window closes (every node heard)' })
  t.comment(`window closed ${Date.now() - healedAt} ms after the fresher node reconnected (window ${TIMINGS['node.heartbeatTtl']})`)
  t.same(await services(), ['new'], 'the freshest state won: new is back, old is not resurrected')
  const snap = await store.snapshot()
  t.equal(snap.rev, freshRev, 'at the revision the freshest node held')
  await waitFor(() => a.node.ctx.feed.state.services.has('new') && !a.node.ctx.feed.state.services.has('old'), { what: 'the stale node follows the freshest state' })
  t.pass('the stale node follows the freshest state')
  t.ok(snap.alive.has(a.node.id) && snap.alive.has(b.node.id), 'both nodes alive in the restored registry')

  // The fence: a new leader's token is above every token handed out before, so the paused one is refused.
  const next = new Lease(admin, store.keys, 'new-leader', 60_000)
  next.start()
  t.teardown(async () => { await next.stop() })
  const newToken = await waitFor(() => next.token > 0 ? next.token : null, { what: 'a new leader' })
  t.ok(newToken > token, `the new leader's token ${newToken} is above the paused leader's ${token}`)
  const fenced = await store.write([{ type: 'service', id: 'ghost', value: makeSpec('ghost') }], { fence: token }).catch((err: Error) => err)
  t.ok(isMeshError(fenced, 'MESH_ERR_REGISTRY_FENCED'), 'the paused leader\'s write fails the fence check')
  t.ok(await store.write([{ type: 'service', id: 'cli', value: makeSpec('cli') }]) > 0, 'once the window closed, writes are accepted again')
})
