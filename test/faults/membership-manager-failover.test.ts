/**
 * The leading manager killed with SIGKILL in a cluster made with mesh init
 * and mesh join (node1 and node2 managers, node3 a worker): node2 takes the
 * lease and with it the leader's duties. It declares node1 dead on the feed
 * within node.heartbeatTtl + 2 s of the kill (every node learns it from
 * there), folds the worker's reports in (a task placed on node3 reaches
 * Running), reschedules node1's task, and answers a join.
 */
import t from 'tap'
import { daemonMarker, isOurs } from '../../lib/node/daemon'
import type { NodeState } from '../../lib/node/state-dir'
import { Lab, MEMBER_FAST } from '../helpers/membership'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

const HEARTBEAT_TTL = Number(/node\.heartbeatTtl=(\d+)s/.exec(MEMBER_FAST.join(' '))?.[1] ?? 1) * 1000
const LEASE_TTL = Number(/scheduler\.leaseTtl=(\d+)s/.exec(MEMBER_FAST.join(' '))?.[1] ?? 2) * 1000

t.test('leader killed: the standby leads, declares it dead, folds the worker\'s reports, reschedules, answers joins', async (t) => {
  const lab = await Lab.start(t)
  const { machine: m1, run: init } = await lab.init('node1', '127.0.0.1')
  t.equal(init.code, 0, init.stderr)
  const managerToken = (await m1.mesh(['join-token', '-q', 'manager'])).stdout.trim()
  const { machine: m2, run: j2 } = await lab.join('node2', '127.0.0.2', managerToken)
  t.equal(j2.stdout, 'This node joined a cluster as a manager.\n', j2.stderr)
  const { run: j3 } = await lab.join('node3', '127.0.0.3')
  t.equal(j3.code, 0, j3.stderr)
  const admin = lab.admin()
  t.teardown(() => { admin.disconnect() })
  const s1 = m1.state() as NodeState
  const port = await freePort('127.0.0.1')
  t.equal((await m2.mesh(['service', 'create', '--name', 'web', '--replicas', '3', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])).code, 0)
  const running = async (): Promise<string[]> => (await m2.mesh(['service', 'ps', 'web'])).stdout.split('\n')
    .filter((l) => / web\.\d /.test(l) && / Running +Running/.test(l)).map((l) => /node\d/.exec(l)?.[0] ?? '')
  t.same((await running()).sort(), ['node1', 'node2', 'node3'])

  const killedAt = Date.now()
  process.kill(m1.pid(), 'SIGKILL')
  await waitFor(() => !isOurs(m1.pid(), daemonMarker('node1')), { what: 'node1\'s daemon gone' })
  await waitFor(async () => /node2 +Ready +Active +Leader/.test((await m2.mesh(['node', 'ls'])).stdout), { timeout: LEASE_TTL + 5000, interval: 50, what: 'node2 leads' })
  const ledIn = Date.now() - killedAt
  await waitFor(async () => JSON.parse(await admin.hget('mesh:liveness', s1.id) ?? '{}').alive === false, { timeout: HEARTBEAT_TTL + 5000, interval: 20, what: 'node1 declared dead on the feed' })
  const deadIn = Date.now() - killedAt
  t.ok(deadIn <= HEARTBEAT_TTL + 2000 + LEASE_TTL, `node1 declared dead ${deadIn} ms after the kill (heartbeatTtl ${HEARTBEAT_TTL} ms + 2 s, plus the lease TTL ${LEASE_TTL} ms when the dead node was the leader)`)

  // The worker's reports reach the registry through the new leader: web's task from node1 runs elsewhere.
  const after = await waitFor(async () => { const r = await running(); return r.length === 3 && !r.includes('node1') ? r : null }, { timeout: 15_000, what: 'web running 3 tasks without node1' })
  const rescheduledIn = Date.now() - killedAt
  t.pass(`web rescheduled on ${after.sort().join(', ')}`)
  t.equal((await m2.mesh(['service', 'scale', 'web=5'])).code, 0, 'a scale through the new leader converges (reports from node3 folded in by it)')
  t.equal((await running()).filter((n) => n === 'node3').length >= 2, true, 'node3 runs its new tasks')

  const { run: j4 } = await lab.join('node4', '127.0.0.4')
  t.equal(j4.code, 0, `the new leader answers a join: ${j4.stderr}`)
  t.comment(`leader SIGKILL: node2 led after ${ledIn} ms (leaseTtl ${LEASE_TTL} ms), node1 declared dead after ${deadIn} ms, its task rescheduled after ${rescheduledIn} ms`)
})
