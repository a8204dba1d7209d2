/**
 * `mesh join` and `mesh join-token`: a wrong, malformed or rotated token is
 * one clear line, exit 1, and nothing is written to the registry; a good
 * one gives the node its own Redis user; a name already taken is refused;
 * rotating a token changes only future joins.
 */
import t from 'tap'
import { Lab } from '../helpers/membership'
import { waitFor } from '../helpers/wait'
import { dump } from './mesh'

t.test('join tokens: refused without a trace when wrong, malformed or rotated; a good one joins with its own credential', async (t) => {
  const lab = await Lab.start(t)
  const { machine: m1, run: init } = await lab.init('node1', '127.0.0.1')
  t.equal(init.code, 0, init.stderr)
  const admin = lab.admin()
  t.teardown(() => { admin.disconnect() })

  const before = await dump(admin)
  const users = async (): Promise<string[]> => (await admin.call('ACL', 'USERS') as string[]).sort()
  const usersBefore = await users()
  const bad = [
    ['MESHTKN-1-abc', /^mesh: error: invalid join token MESHTKN-\.\.\.: a token is MESHTKN-1-<cluster>-<secret>/],
    ['SWMTKN-1-whatever', /^mesh: error: invalid join token "SWMTKN-1-wha\.\.\."/],
    [lab.token.slice(0, -4) + 'zzzz', /^mesh: error: the registry at 127\.0\.0\.1:\d+ refused the join token: it is wrong, or was rotated/],
    [lab.token.replace(/^(MESHTKN-1-)\w{25}/, '$1aaaaaaaaaaaaaaaaaaaaaaaaa'), /^mesh: error: the join token belongs to cluster a{25}; the registry at 127\.0\.0\.1:\d+ holds cluster \w{25}/]
  ] as const
  for (const [token, message] of bad) {
    const { machine, run } = await lab.join('intruder', '127.0.0.9', token)
    t.equal(run.code, 1, `exit 1 for ${token.slice(0, 20)}...`)
    t.match(run.stderr, message)
    t.equal(run.stderr.trim().split('\n').length, 1, 'one line')
    t.equal(machine.state(), null, 'no credential written here')
  }
  t.equal(await dump(admin), before, 'nothing written to the registry')
  t.same(await users(), usersBefore, 'and no user created')

  const { machine: m2, run: joined } = await lab.join('node2', '127.0.0.2')
  t.equal(joined.code, 0, joined.stderr)
  t.equal(joined.stdout, 'This node joined a cluster as a worker.\n')
  const s2 = m2.state()
  t.equal(s2?.role, 'worker')
  t.ok((await users()).includes(`mesh-node-${s2?.id ?? ''}`), 'the node has a Redis user of its own')
  t.match((await m1.mesh(['node', 'ls'])).stdout, /node2 +Ready +Active/, 'and is Ready in node ls')

  const dup = await lab.join('node2', '127.0.0.3')
  t.match(dup.run, { code: 1, stderr: /the cluster refused this node: a node named node2 is already a member/ }, 'a second node2 is refused')
  t.equal(dup.machine.state(), null)

  const old = lab.token
  const rotated = await m1.mesh(['join-token', '--rotate', 'worker'])
  t.equal(rotated.code, 0, rotated.stderr)
  t.match(rotated.stdout, /^Successfully rotated worker join token\.\n\nTo add a worker to this cluster, run the following command:\n\n {4}mesh join --token (MESHTKN-\S+) 127\.0\.0\.1:\d+\n/)
  const fresh = /(MESHTKN-\S+)/.exec(rotated.stdout)?.[1] ?? ''
  t.not(fresh, old, 'a new token')
  const stale = await lab.join('node3', '127.0.0.3', old)
  t.match(stale.run, { code: 1, stderr: /refused the join token: it is wrong, or was rotated/ }, 'the rotated token is refused')
  const ok = await lab.join('node3', '127.0.0.3', fresh)
  t.equal(ok.run.code, 0, ok.run.stderr)
  // node2 joined with the old token: it keeps working (its own credential), beats on, and is Ready.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const ls = await waitFor(async () => {
    const r = (await m1.mesh(['node', 'ls'])).stdout
    return (r.match(/ Ready /g)?.length ?? 0) === 3 ? r : null
  }, { what: 'three nodes Ready after the rotation' })
  t.match(ls, /node2 +Ready/, 'the node that joined with the rotated token still works')
  const worker = await m2.mesh(['join-token', 'worker'])
  t.match(worker, { code: 1, stderr: /This node is not a manager/ }, 'a worker cannot read the tokens')
})
