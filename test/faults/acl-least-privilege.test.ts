/**
 * Least privilege, enforced by Redis's ACLs, on a real cluster made as the
 * lab makes it (mesh init, two mesh join): every node on a Redis user of
 * its own, the registry's default user off.
 *
 * - A worker's credential gets NOPERM writing a service, a task's desired
 *   state, another node's heartbeat or report stream, the lease or the
 *   fence, or reading the join tokens; a report it forges about another
 *   node's task through its own stream is refused by the leader's fold.
 * - A worker whose state file was edited to say manager cannot start the
 *   scheduler: its lease attempts are refused, and its daemon says why.
 * - A second daemon claiming a joined node (by name, or by its state
 *   directory) is refused; so is a second join under its name.
 * - `mesh node rm --force` revokes a live node's credential: Redis drops its
 *   connections, it is refused at its next reconnect (its daemon says so),
 *   and requests through every other node keep being answered.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import Redis from 'ioredis'
import t from 'tap'
import { isMeshError } from '../../lib/errors'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { withCredentials, type NodeState } from '../../lib/node/state-dir'
import { daemonMarker, isOurs } from '../../lib/node/daemon'
import { makeSpec } from '../helpers/cluster-fixture'
import { CLI } from '../helpers/mesh'
import { FAST_FLAGS, Lab } from '../helpers/membership'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

async function status (host: string, port: number): Promise<number> {
  return await new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 3000 }, (res) => { res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0) }) })
    req.on('timeout', () => { req.destroy() })
    req.on('error', () => { resolve(-1) })
    req.end()
  })
}

function storeOf (s: NodeState, name: string): RegistryStore {
  const r = createRedis({ url: withCredentials(s.registry, s.user, s.password), connectTimeout: 2000, reconnectMaxDelay: 200, name, commandTimeout: 5000 })
  r.on('error', () => {})
  return new RegistryStore(r, 'mesh:')
}

const denied = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'ALLOWED', (err: Error) => isMeshError(err, 'MESH_ERR_REGISTRY_DENIED') || /NOPERM|can't/.test(err.message) ? 'NOPERM' : `other: ${err.message}`)

t.test('a worker may write only what is its own; a removed node is refused; the other nodes serve on', async (t) => {
  const lab = await Lab.start(t)
  const { machine: m1, run: init } = await lab.init('node1', '127.0.0.1')
  t.equal(init.code, 0, init.stderr)
  const { machine: m2 } = await lab.join('node2', '127.0.0.2')
  const { machine: m3, run: j3 } = await lab.join('node3', '127.0.0.3')
  t.equal(j3.code, 0, j3.stderr)
  const port = await freePort('127.0.0.1')
  t.equal((await m1.mesh(['service', 'create', '--name', 'web', '--replicas', '3', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])).code, 0)
  const admin = lab.admin()
  t.teardown(() => { admin.disconnect() })
  const s1 = m1.state() as NodeState
  const s2 = m2.state() as NodeState
  const s3 = m3.state() as NodeState
  const worker = storeOf(s2, 'test-as-node2')
  await worker.redis.connect()
  t.teardown(() => { worker.redis.disconnect() })

  // What node2's credential may not do.
  const snap = await worker.snapshot()
  t.ok(snap.services.has('web'), 'a worker reads the registry')
  const onNode3 = [...snap.tasks.values()].find((x) => x.node === s3.id)
  if (onNode3 === undefined) throw new Error('no task on node3')
  const attempts: Record<string, Promise<unknown>> = {
    'write a service': worker.write([{ type: 'service', id: 'evil', value: makeSpec('evil') }]),
    'change a task\'s desired state': worker.write([{ type: 'taskSpec', id: onNode3.id, value: { ...onNode3, desired: 'shutdown' } }]),
    'write a liveness verdict': worker.write([{ type: 'liveness', id: s3.id, value: { v: 1, alive: false, at: Date.now(), by: s2.id } }]),
    'write another node\'s heartbeat': worker.redis.set(`mesh:hb:${s3.id}`, '1', 'PX', 1000),
    'append to another node\'s report stream': worker.redis.xadd(`mesh:reports:${s3.id}`, '*', `a:${onNode3.id}`, '{}'),
    'take the scheduler lease': worker.redis.set('mesh:scheduler:lease', `${s2.id}:99`, 'PX', 5000, 'NX'),
    'bump the fence': worker.redis.incr('mesh:scheduler:fence'),
    'read the join tokens': worker.redis.hgetall('mesh:secret:join'),
    'delete the change feed': worker.redis.del('mesh:changes'),
    'flush the registry': worker.redis.flushall()
  }
  const results = Object.fromEntries(await Promise.all(Object.entries(attempts).map(async ([what, p]) => [what, await denied(p)])))
  t.same(results, Object.fromEntries(Object.keys(attempts).map((k) => [k, 'NOPERM'])), 'each one refused with NOPERM')
  t.equal(await admin.call('ACL', 'DRYRUN', s2.user, 'SET', `mesh:hb:${s2.id}`, '1'), 'OK', 'its own heartbeat: allowed')
  t.equal(await admin.call('ACL', 'DRYRUN', s2.user, 'XADD', `mesh:reports:${s2.id}`, '*', 'a', 'b'), 'OK', 'its own report stream: allowed')
  t.equal(await admin.call('ACL', 'DRYRUN', s2.user, 'XADD', 'mesh:logs:web', '*', 'a', 'b'), 'OK', 'task log streams: allowed')
  t.comment(`node2's credential: ${Object.keys(attempts).length} writes outside its own keys, ${Object.values(results).filter((r) => r === 'NOPERM').length} refused with NOPERM`)

  // A forged report through its own stream: about node3's task, and as node3. The leader's fold refuses both.
  const before = (await admin.hget('mesh:taskstatus', onNode3.id)) ?? ''
  await worker.redis.xadd(`mesh:reports:${s2.id}`, '*', `a:${onNode3.id}`, JSON.stringify({ v: 1, state: 'failed', error: 'forged', stateAt: Date.now(), host: '10.9.9.9', port: 1, pid: 0, exitCode: 1 }),
    `m:${s3.id}`, JSON.stringify({ v: 1, status: 'down', admin: '', at: Date.now() }))
  await waitFor(() => /refused 2 report\(s\) from node node2: not its own tasks or status/.test(m1.log()), { what: 'the leader refusing the forged reports' })
  t.equal((await admin.hget('mesh:taskstatus', onNode3.id)) ?? '', before, 'node3\'s task is untouched')
  t.match((await m1.mesh(['node', 'ls'])).stdout, /node3 +Ready/, 'and node3 still Ready')

  // A worker's state edited to say manager: its scheduler is refused the lease, and says so.
  const { machine: m4, run: j4 } = await lab.join('node4', '127.0.0.4')
  t.equal(j4.code, 0, j4.stderr)
  process.kill(m4.pid(), 'SIGTERM')
  await waitFor(() => !isOurs(m4.pid(), daemonMarker('node4')), { what: 'node4 stopped' })
  const s4 = m4.state() as NodeState
  writeFileSync(join(m4.dir, '.mesh', 'node.json'), JSON.stringify({ ...s4, role: 'manager' }), { mode: 0o600 })
  const fake = spawn(process.execPath, [CLI, 'node', 'start', '--name', 'node4', '--state-dir', join(m4.dir, '.mesh')], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let fakeLog = ''
  fake.stderr.on('data', (c: Buffer) => { fakeLog += c.toString() })
  t.teardown(() => { if (fake.exitCode === null) fake.kill('SIGKILL') })
  await waitFor(() => /this node may not take the scheduler lease \(NOPERM/.test(fakeLog), { what: `node4's daemon saying why it cannot lead (${fakeLog})` })
  t.pass('a worker token cannot start the scheduler: its daemon says NOPERM')
  t.match(await admin.get('mesh:scheduler:lease'), new RegExp(`^${s1.id}:`), 'node1 still holds the lease')
  fake.kill('SIGTERM')

  // A second daemon for a joined node: by name on another credential, by its state directory, or by a join.
  const u1 = withCredentials(s1.registry, s1.user, s1.password)
  const byName = await m1.mesh(['node', 'start', '--name', 'node2', '--advertise', '127.0.0.9', '--redis', u1, ...FAST_FLAGS])
  t.match(byName, { code: 1, stderr: /node node2 \(\w{12}\) joined the cluster with its own credential: a second daemon cannot claim it/ }, 'by name: refused')
  const byDir = await m2.mesh(['node', 'start', '--state-dir', join(m2.dir, '.mesh'), ...FAST_FLAGS])
  t.match(byDir, { code: 1, stderr: /node node2 already runs \(pid \d+/ }, 'by its state directory: refused')
  const byJoin = await lab.join('node2', '127.0.0.9')
  t.match(byJoin.run, { code: 1, stderr: /a node named node2 is already a member/ }, 'by a join: refused')

  // node3 removed while it runs: its credential is revoked; node1 and node2 serve on.
  let stop = false
  let ok = 0
  const failed: string[] = []
  const load = (async () => {
    for (let i = 0; !stop && i < 20_000; i++) {
      const h = i % 2 === 0 ? '127.0.0.1' : '127.0.0.2'
      const code = await status(h, port)
      if (code === 200) ok++
      else failed.push(`${h}: ${code}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  await waitFor(() => ok > 20, { what: 'load through node1 and node2' })
  const rm = await m1.mesh(['node', 'rm', '--force', 'node3'])
  t.equal(rm.code, 0, rm.stderr)
  const removedAt = Date.now()
  await waitFor(() => /the registry refused this node's credential \(.*WRONGPASS/.test(m3.log()), { timeout: 15_000, what: `node3's daemon saying its credential is refused (${m3.log().slice(-800)})` })
  const refusedIn = Date.now() - removedAt
  const probe = new Redis(withCredentials(s3.registry, s3.user, s3.password), { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  let why = ''
  probe.on('error', (err: Error) => { why = err.message })
  await probe.connect().catch(() => {})
  probe.disconnect()
  t.match(why, /WRONGPASS/, 'node3\'s credential is refused at a new connection')
  t.equal(await admin.call('ACL', 'GETUSER', s3.user), null, 'its Redis user is gone')
  await waitFor(async () => (await m1.mesh(['service', 'ps', 'web'])).stdout.split('\n').filter((l) => / Running +Running/.test(l) && !l.includes('node3')).length === 3,
    { timeout: 15_000, what: 'web running 3 tasks without node3' })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  stop = true
  await load
  t.same(failed, [], `0 failed of ${ok} requests through node1 and node2 while node3 was removed`)
  t.comment(`node rm --force node3: its daemon reported the refused credential ${refusedIn} ms later; ${ok} requests through node1/node2, ${failed.length} failed`)
  t.ok(readFileSync(join(m1.dir, '.mesh', 'node.log'), 'utf8').length > 0)
})
