/**
 * Why registry writes wait for a replica (Redis WAIT): both replicas lag
 * their master by LAG_MS (a slow link, test/helpers/delay-relay.ts), and the
 * master is killed (-9) the moment the CLI reports a write done. The write
 * waited until a replica had it, so it survives the failover; the same write
 * without the wait (redis.waitReplicas 0) is lost with the master.
 */
import t from 'tap'
import type { Test } from 'tap'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { DelayRelay } from '../helpers/delay-relay'
import { mesh } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { SentinelSet } from '../helpers/sentinel'
import { waitFor } from '../helpers/wait'

const LAG_MS = 500

async function lastWriteAfterFailover (t: Test, env: NodeJS.ProcessEnv): Promise<{ kept: boolean, tookMs: number, stderr: string }> {
  const relays: DelayRelay[] = []
  t.teardown(async () => { await Promise.all(relays.map(async (r) => { await r.close() })) })
  const set = await SentinelSet.start({
    replicas: 2,
    sentinels: 3,
    replicaUpstream: async (masterPort) => {
      const relay = await DelayRelay.start(masterPort, LAG_MS)
      relays.push(relay)
      return relay.port
    }
  })
  t.teardown(async () => { await set.close() })
  t.equal((await mesh(['init', '--registry-only'], set.url)).code, 0, 'mesh init')
  const oldMaster = await set.masterPort()

  const started = Date.now()
  const write = await mesh(['service', 'create', '--name', 'last', '--publish', `${await freePort('127.0.0.1')}:80`, '--endpoint', '127.0.0.1:9'], set.url, env)
  const tookMs = Date.now() - started
  t.equal(write.code, 0, `the CLI reported the write done ${write.stderr}`)
  await set.kill(oldMaster)
  await waitFor(async () => (await set.masterPort()) !== oldMaster, { timeout: 30_000, interval: 50, what: 'a new master' })

  const conn = createRedis({ url: set.url, connectTimeout: 1000, reconnectMaxDelay: 200, name: 'test-reader' })
  conn.on('error', () => {})
  t.teardown(() => { conn.disconnect() })
  const store = new RegistryStore(conn, 'mesh:')
  const services = await waitFor(async () => {
    if (conn.status === 'wait') await conn.connect()
    return (await store.snapshot()).services
  }, { what: 'a read from the new master' })
  return { kept: services.has('last'), tookMs, stderr: write.stderr }
}

t.test(`replicas ${LAG_MS} ms behind, master killed as the CLI reports a write done: the write waited for a replica and is kept`, async (t) => {
  const r = await lastWriteAfterFailover(t, {})
  t.comment(`the write took ${r.tookMs} ms (the CLI included) with the wait`)
  t.ok(r.kept, 'the write is on the new master')
  t.notMatch(r.stderr, /replica/, 'acknowledged: no warning')
})

t.test('the same without the wait (redis.waitReplicas 0): the write is lost with the master (what the wait prevents)', async (t) => {
  const r = await lastWriteAfterFailover(t, { MESH_REDIS_WAIT_REPLICAS: '0' })
  t.comment(`the write took ${r.tookMs} ms without the wait`)
  t.notOk(r.kept, 'the write the CLI reported done is gone after the failover')
})
