import t from 'tap'
import { isMeshError, MeshError } from '../../lib/errors'
import { compareAndSet } from '../../lib/registry/cas'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { SCHEMA_VERSION, type NodeRecord } from '../../lib/registry/types'
import { TestRedis } from '../helpers/redis'

const node = (id: string): NodeRecord => ({ v: SCHEMA_VERSION, id, name: id, addr: '127.0.0.1', role: 'worker', availability: 'active', joinedAt: 1, status: 'ready', admin: '' })
const fast = { backoff: () => 1 }

t.test('compare-and-set against a real registry', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const conn = createRedis({ url: redis.url, connectTimeout: 2000, reconnectMaxDelay: 1000, name: 'cas-test' })
  conn.on('error', () => {})
  await conn.connect()
  t.teardown(() => { conn.disconnect() })
  const store = new RegistryStore(conn, 'mesh:', 1000)
  const rev = async (): Promise<number> => (await store.snapshot()).rev

  t.test('a write raced by another one is planned again on the new revision, then lands', async (t) => {
    let plans = 0
    const out = await compareAndSet(store, async () => {
      plans++
      const at = await rev()
      if (plans === 1) await store.write([{ type: 'node', id: 'other', value: node('other') }]) // the race
      return { rev: at, ops: [{ type: 'node', id: 'mine', value: node('mine') }], result: plans }
    }, { attempts: 3, ...fast, exhausted: () => { throw new Error('unexpected') } })
    t.equal(plans, 2, 'planned twice: the first write met a conflict')
    t.equal(out.result, 2, 'the result is the second plan\'s')
    const snap = await store.snapshot()
    t.ok(snap.nodes.has('other') && snap.nodes.has('mine'), 'both writes are in the registry')
    t.equal(out.rev, snap.rev, 'resolves with the revision written')
  })

  t.test('always raced: gives up after `attempts` with a conflict error, and wrote nothing of its own', async (t) => {
    let plans = 0
    const err = await compareAndSet(store, async () => {
      plans++
      const at = await rev()
      await store.write([{ type: 'node', id: `racer${plans}`, value: node(`racer${plans}`) }])
      return { rev: at, ops: [{ type: 'node', id: 'loser', value: node('loser') }], result: null }
    }, { attempts: 4, ...fast, exhausted: (n, cause) => new MeshError('MESH_ERR_REGISTRY_CONFLICT', `gave up after ${n}`, { cause }) }).catch((e: Error) => e)
    t.equal(plans, 4, 'four attempts')
    t.equal((err as Error).message, 'gave up after 4', 'the caller\'s exhausted error')
    t.ok(isMeshError((err as Error).cause, 'MESH_ERR_REGISTRY_CONFLICT'), 'caused by the last conflict')
    t.notOk((await store.snapshot()).nodes.has('loser'), 'its record was never written')
  })

  t.test('a plan with nothing to write does not write', async (t) => {
    const before = await rev()
    const out = await compareAndSet(store, async () => ({ rev: before, ops: [], result: 'unchanged' }), { attempts: 1, ...fast, exhausted: () => { throw new Error('unexpected') } })
    t.same(out, { rev: before, result: 'unchanged' }, 'the plan\'s result at the revision it read')
    t.equal(await rev(), before, 'the revision did not move')
  })
})
