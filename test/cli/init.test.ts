/**
 * `mesh init`, as `docker swarm init`: founds a cluster (its epoch, only in
 * a new Redis), makes this node its first manager with a daemon in the
 * background, and prints the join command. --registry-only founds it alone.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { isOurs } from '../../lib/node/daemon'
import { TestRedis } from '../helpers/redis'
import { runMesh } from '../helpers/mesh'
import { mesh } from './mesh'

const FAST = ['node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'registry.livenessInterval=200ms', 'registry.blockTimeout=1s',
  'scheduler.reconcileInterval=500ms', 'scheduler.leaseTtl=2s', 'proxy.warmupRequests=0'].flatMap((kv) => ['--set', kv])

t.test('mesh init --registry-only: a new Redis gets a cluster; an existing or a restoring one is refused', async (t) => {
  const r = await TestRedis.start({ cluster: false })
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })

  const first = await mesh(r.url, ['init', '--registry-only'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^Cluster created in the registry at redis:\/\/127\.0\.0\.1:\d+\/? \(epoch \w+\)/)
  const epoch = await redis.get('mesh:epoch')
  t.ok(epoch !== null && first.stdout.includes(epoch), 'the epoch it printed is in the registry')
  t.match(first.stdout, new RegExp(`mesh join --token MESHTKN-1-${epoch as string}-w\\w{32} 127\\.0\\.0\\.1:${r.port}\\n`), 'and the worker join line')
  t.same((await redis.call('ACL', 'USERS') as string[]).filter((u) => u.startsWith('mesh-')).sort(), ['mesh-join-manager', 'mesh-join-worker'], 'the joiner users behind the tokens')

  const again = await mesh(r.url, ['init', '--registry-only'])
  t.match(again, { code: 1, stderr: /already holds a cluster \(epoch \w+\)/ })
  t.equal(await redis.get('mesh:epoch'), epoch, 'the epoch is unchanged')

  // Flushed while its nodes live: their heartbeats are back before anyone could run init.
  await redis.flushall()
  await redis.set('mesh:hb:n1', '42', 'PX', 60_000)
  const over = await mesh(r.url, ['init', '--registry-only'])
  t.match(over, { code: 1, stderr: /no cluster epoch: it was flushed or restarted empty and its nodes are restoring it/ })
  t.equal(await redis.exists('mesh:epoch'), 0, 'no epoch created over it')
})

t.test('mesh init: this node becomes the leading manager, with its credential 0600; the printed token is join-token\'s', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-init-'))
  t.teardown(async () => {
    await runMesh(['leave', '--force'], { cwd })
    rmSync(cwd, { recursive: true, force: true })
  })
  const init = await runMesh(['init', '--name', 'node1', '--advertise', '127.0.0.1', ...FAST], { cwd })
  t.equal(init.code, 0, init.stderr)
  const state = JSON.parse(readFileSync(join(cwd, '.mesh', 'node.json'), 'utf8')) as { id: string, user: string, role: string }
  t.equal(statSync(join(cwd, '.mesh', 'node.json')).mode & 0o777, 0o600, 'the node\'s credential is mode 0600')
  t.equal(state.role, 'manager')
  t.match(init.stdout, new RegExp([
    `^Cluster initialized: current node \\(${state.id}\\) is now a manager\\.\\n\\n`,
    'To add a worker to this cluster, run the following command:\\n\\n',
    '    mesh join --token (MESHTKN-1-\\w{25}-w\\w{32}) 127\\.0\\.0\\.1:\\d+\\n\\n',
    'To add a manager to this cluster, run \'mesh join-token manager\' and follow the instructions\\.\\n'
  ].join('')), 'docker\'s init output, with the whole join line')
  const printed = /(MESHTKN-\S+)/.exec(init.stdout)?.[1]
  const pid = Number(readFileSync(join(cwd, '.mesh', 'node.pid'), 'utf8'))
  t.ok(isOurs(pid, 'node start --name node1 '), 'its daemon runs in the background')
  t.notMatch(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /redis:|MESHTKN|--set/, 'with nothing of the registry or its credential on its command line')

  const ls = await runMesh(['node', 'ls'], { cwd })
  t.match(ls.stdout, new RegExp(`^${state.id} \\* +node1 +Ready +Active +Leader$`, 'm'), 'node ls marks this node with * and shows it Leader')
  const q = await runMesh(['join-token', '-q', 'worker'], { cwd })
  t.equal(q.stdout.trim(), printed, 'join-token -q worker prints the token init printed')
  const m = await runMesh(['join-token', 'manager'], { cwd })
  t.match(m.stdout, /^To add a manager to this cluster, run the following command:\n\n {4}mesh join --token MESHTKN-1-\w{25}-m\w{32} 127\.0\.0\.1:\d+\n/)
  const twice = await runMesh(['init', ...FAST], { cwd })
  t.match(twice, { code: 1, stderr: /This node is already part of a cluster \(node node1/ }, 'init again here is refused')
})
