/**
 * `mesh leave` (its tasks move to the other nodes, it shows Down, its
 * daemon exits 0, its credential is gone; the last manager needs --force)
 * and `mesh node promote|demote` (the node's Redis user and its daemon
 * follow: a promoted worker runs a scheduler; the last manager stays).
 */
import t from 'tap'
import { daemonMarker, isOurs } from '../../lib/node/daemon'
import { Lab } from '../helpers/membership'
import { waitFor } from '../helpers/wait'

t.test('leave drains the node and deregisters it; the last manager needs --force; promote and demote', async (t) => {
  const lab = await Lab.start(t)
  const { machine: m1, run: init } = await lab.init('node1', '127.0.0.1')
  t.equal(init.code, 0, init.stderr)
  const { machine: m2 } = await lab.join('node2', '127.0.0.2')
  const { machine: m3, run: j3 } = await lab.join('node3', '127.0.0.3')
  t.equal(j3.code, 0, j3.stderr)
  const admin = lab.admin()
  t.teardown(() => { admin.disconnect() })

  const created = await m1.mesh(['service', 'create', '--name', 'web', '--replicas', '3', '--publish', '18455:80', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const running = async (): Promise<string[]> => (await m1.mesh(['service', 'ps', 'web'])).stdout.split('\n')
    .filter((l) => / web\.\d /.test(l) && / Running +Running/.test(l)).map((l) => /node\d/.exec(l)?.[0] ?? '')
  t.same((await running()).sort(), ['node1', 'node2', 'node3'], 'one task per node')

  const pid3 = m3.pid()
  const left = await m3.mesh(['leave'])
  t.equal(left.code, 0, left.stderr)
  t.equal(left.stdout, 'Node left the cluster.\n')
  t.notOk(isOurs(pid3, daemonMarker('node3')), 'its daemon exited')
  t.match(m3.log(), /left every routing table \(revision \d+\)/, 'after its tasks left every table')
  t.equal(m3.state(), null, 'its credential is gone')
  t.match((await m1.mesh(['node', 'ls'])).stdout, /node3 +Down +Active/, 'node ls on the manager shows it Down')
  const after = await waitFor(async () => { const r = await running(); return r.length === 3 ? r : null }, { what: 'web back to 3 running tasks' })
  t.notOk(after.includes('node3'), `its task runs on node1 or node2 now (${after.join(', ')})`)

  const last = await m1.mesh(['leave'])
  t.match(last, { code: 1, stderr: /You are attempting to leave the cluster on a node that is participating as a manager\. Removing the last manager erases all current state of the cluster\. Use `--force` to ignore this message\./ })
  t.ok(isOurs(m1.pid(), daemonMarker('node1')), 'and it still runs')

  const promoted = await m1.mesh(['node', 'promote', 'node2'])
  t.equal(promoted.stdout, 'Node node2 promoted to a manager in the cluster.\n', promoted.stderr)
  await waitFor(() => /node node2 is now a manager/.test(m2.log()), { what: 'node2\'s daemon follows its new role' })
  t.match((await m1.mesh(['node', 'ls'])).stdout, /node2 +Ready +Active +Reachable/, 'node2 is a reachable manager')
  const s2 = m2.state()
  t.equal(await admin.call('ACL', 'DRYRUN', s2?.user ?? '', 'HSET', 'mesh:services', 'x', 'y'), 'OK', 'its credential may now write desired state')
  const ls2 = await m2.mesh(['node', 'ls'])
  t.match(ls2.stdout, new RegExp(`^${s2?.id ?? ''} \\* +node2 `, 'm'), 'node ls on node2 works now and marks node2')

  const demoted = await m1.mesh(['node', 'demote', 'node1'])
  t.equal(demoted.stdout, 'Manager node1 demoted in the cluster.\n', demoted.stderr)
  await waitFor(async () => /node2 +Ready +Active +Leader/.test((await m2.mesh(['node', 'ls'])).stdout), { timeout: 10_000, what: 'node2 leads once node1 is a worker' })
  t.pass('node2 leads')
  t.match(await admin.call('ACL', 'DRYRUN', m1.state()?.user ?? '', 'HSET', 'mesh:services', 'x', 'y') as string, /no permissions/, 'node1\'s credential is a worker\'s now')
  const lastDemote = await m2.mesh(['node', 'demote', 'node2'])
  t.match(lastDemote, { code: 1, stderr: /attempting to demote the last manager of the cluster \(node2\)/ })
  t.equal((await m2.mesh(['leave', '--force'])).code, 0, 'the last manager leaves with --force')
})
