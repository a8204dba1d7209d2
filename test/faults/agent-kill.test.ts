/**
 * Tasks never outlive their node daemon: real Redis, real `mesh node start`
 * daemons, real `mesh whoami` tasks.
 * - kill -9 of a daemon: its tasks are gone within node.heartbeatTtl + 5 s
 *   (their supervisors see the daemon's channel close and stop them).
 * - A daemon killed together with its supervisors leaves real orphans
 *   (ppid 1); its service is removed meanwhile and the records deleted; the
 *   restarted daemon stops the orphans within 10 s.
 */
import t, { type Test } from 'tap'
import { nodeIdFor } from '../../lib/registry/ids'
import { RegistryStore } from '../../lib/registry/store'
import type { TaskRecord } from '../../lib/registry/types'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'
import { alive, childrenOf, Daemon, meshEnv } from './agent-fixture'

const HEARTBEAT_TTL = 2000 // agent-fixture FAST

async function cluster (t: Test, names: string[]): Promise<{ redis: TestRedis, store: RegistryStore, nodes: Daemon[], pids: Set<number> }> {
  const redis = await TestRedis.start()
  const conn = redis.client()
  const store = new RegistryStore(conn, 'mesh:')
  const nodes: Daemon[] = []
  const pids = new Set<number>()
  t.teardown(async () => {
    await Promise.all(nodes.map(async (n) => await n.stop('SIGKILL')))
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
    conn.disconnect()
    await redis.close()
  })
  for (const [i, name] of names.entries()) nodes.push(await Daemon.start(name, loopback(), redis.url, { manager: i === 0 }))
  return { redis, store, nodes, pids }
}

async function runningTasks (store: RegistryStore, service: string, n: number): Promise<TaskRecord[]> {
  return await waitFor(async () => {
    const live = [...(await store.snapshot()).tasks.values()].filter((x) => x.service === service && x.desired === 'running')
    return live.length === n && live.every((x) => x.state === 'running' && x.pid > 0) ? live : null
  }, { timeout: 20_000, what: `${n} running tasks of ${service}` })
}

t.test('daemon kill -9: its tasks are gone within heartbeatTtl + 5 s', async (t) => {
  const { redis, store, nodes, pids } = await cluster(t, ['k1', 'k2', 'k3'])
  const port = await freePort('127.0.0.1')
  const created = await meshEnv(redis.url, ['service', 'create', '--name', 'web', '--replicas', '3', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const tasks = await runningTasks(store, 'web', 3)
  for (const x of tasks) pids.add(x.pid)
  const victim = nodes[2]
  const doomed = tasks.filter((x) => x.node === nodeIdFor(victim.name)).map((x) => x.pid)
  t.equal(doomed.length, 1, 'spread: one task on the victim')
  t.ok(doomed.every(alive), 'its task runs')

  const t0 = Date.now()
  await victim.stop('SIGKILL')
  await waitFor(() => doomed.every((pid) => !alive(pid)), { timeout: HEARTBEAT_TTL + 5000, interval: 20, what: `tasks ${doomed.join(', ')} of the SIGKILLed daemon gone` })
  const took = Date.now() - t0
  t.comment(`daemon kill -9 -> its task processes gone in ${took} ms (bound: heartbeatTtl ${HEARTBEAT_TTL} ms + 5 s)`)
  t.ok(tasks.filter((x) => x.node !== nodeIdFor(victim.name)).every((x) => alive(x.pid)), 'the other nodes\' tasks run on')
})

t.test('daemon restarted after its service was removed: the orphans are stopped within 10 s', async (t) => {
  const { redis, store, nodes, pids } = await cluster(t, ['o1', 'o2'])
  const port = await freePort('127.0.0.1')
  const created = await meshEnv(redis.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const tasks = await runningTasks(store, 'web', 2)
  for (const x of tasks) pids.add(x.pid)
  const victim = nodes[1]
  const orphans = tasks.filter((x) => x.node === nodeIdFor(victim.name)).map((x) => x.pid)
  t.equal(orphans.length, 1, 'spread: one task on the victim')

  // The daemon and every process it spawned die at once (an OOM kill of the tree): the tasks are left with ppid 1.
  const supervisors = childrenOf(victim.pid)
  t.ok(supervisors.length > 0, 'the tasks run under supervisors')
  for (const pid of supervisors) process.kill(pid, 'SIGKILL')
  await victim.stop('SIGKILL')
  await waitFor(() => supervisors.every((pid) => !alive(pid)), { what: 'supervisors gone' })
  t.ok(orphans.every(alive), 'real orphans: the task processes still run')

  const rm = await meshEnv(redis.url, ['service', 'rm', 'web'])
  t.equal(rm.code, 0, rm.stderr)
  await waitFor(async () => [...(await store.snapshot()).tasks.values()].every((x) => x.service !== 'web'), { timeout: 15_000, what: 'the removed service\'s task records deleted (its node is down)' })
  t.pass('the registry no longer knows the orphans')

  const t0 = Date.now()
  await victim.restart()
  await waitFor(() => orphans.every((pid) => !alive(pid)), { timeout: 10_000, interval: 20, what: `orphans ${orphans.join(', ')} stopped by the restarted daemon` })
  t.comment(`restarted daemon -> orphans stopped ${Date.now() - t0} ms after the restart began (bound: 10 s)`)
  t.match(victim.log, /stopped 1 task process\(es\) left by a previous run of this node/, 'and says so')
})
