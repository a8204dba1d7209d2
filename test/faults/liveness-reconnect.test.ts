/**
 * The leader declares a node dead only after watching the registry without
 * a break for one heartbeat TTL. The case it guards: the leader's own
 * connection comes back (a Sentinel failover, any reconnect) onto a registry
 * whose copy of a node's heartbeat key is gone (a replica that had not
 * caught up), while that node could not beat for a moment either. Its key
 * is missing, yet it is alive: it beats again well within the TTL. Real
 * daemons on a real redis-server; the registry's records are read back.
 */
import t from 'tap'
import { nodeIdFor } from '../../lib/registry/ids'
import { SCHEDULER, startCluster, whoamiService, runningTasks } from './registry-fixture'
import { waitFor } from '../helpers/wait'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('a leader whose connection was re-established does not declare a node dead whose key the registry lost, when it beats again within the TTL', async (t) => {
  const c = await startCluster(t, ['lv1', 'lv2'], { set: [...SCHEDULER, 'node.heartbeatTtl=1500ms'] })
  const { tasks } = await whoamiService(c, 'web', 2)
  const id2 = nodeIdFor('lv2')
  const onLv2 = tasks.find((x) => x.node === id2)
  t.ok(onLv2 !== undefined, 'a task runs on lv2')
  const admin = c.redis.client()
  t.teardown(() => { admin.disconnect() })
  const keys = c.store.keys

  // Every verdict the leader writes about lv2 from now on.
  const verdicts: string[] = []
  const watch = setInterval(() => {
    admin.hget(keys.liveness, id2).then((v) => { if (v !== null && !verdicts.includes(v)) verdicts.push(v) }, () => {})
  }, 25)
  t.teardown(() => { clearInterval(watch) })
  const before = await admin.hget(keys.liveness, id2)

  // lv2 cannot beat for 700 ms (under its 1.5 s TTL); meanwhile its key is lost and the leader's connection is cut.
  const lv2 = c.nodes[1]
  lv2.proc.kill('SIGSTOP')
  try {
    await admin.del(keys.heartbeat(id2))
    const list = await admin.call('CLIENT', 'LIST') as string
    const leaderConn = list.split('\n').find((l) => / name=mesh:lv1:cmd /.test(l))
    t.ok(leaderConn !== undefined, 'the leader\'s command connection is listed')
    await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(leaderConn ?? '')?.[1] ?? '0')
    await sleep(700)
  } finally {
    lv2.proc.kill('SIGCONT')
  }
  // lv2 beats again; give the leader two TTLs to (wrongly) act on the gap.
  await waitFor(async () => (await admin.exists(keys.heartbeat(id2))) === 1, { timeout: 5000, what: 'lv2 beating again' })
  await sleep(3000)
  const now = verdicts.filter((v) => v !== before)
  t.same(now.filter((v) => /"alive":false/.test(v)), [], 'no verdict declared lv2 dead')
  const live = await runningTasks(c.store, 'web', 2)
  t.ok(live.some((x) => x.id === onLv2?.id), 'lv2\'s task was not replaced')
})
