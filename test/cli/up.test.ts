/**
 * `mesh up` writes one cluster file with the whole client configuration, and
 * everything run in that directory (CLI commands, a node started by hand,
 * `mesh down`) loads it: a non-default redis.prefix works end to end, and
 * the file is readable only by its owner.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClusterFile } from '../../lib/cluster/cluster-file'
import { isOurs } from '../../lib/cluster/local'
import { CLI, runMesh } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

const FAST = ['node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'registry.livenessInterval=200ms', 'registry.blockTimeout=1s',
  'proxy.warmupRequests=0', 'redis.prefix=lab7:']

t.test('mesh up --set redis.prefix: the cluster file carries it to every command and to a node started by hand', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-up-'))
  const basePort = await freePort('127.0.0.1')
  const handAdmin = await freePort('127.0.0.1')
  let file: ClusterFile | null = null
  t.teardown(async () => {
    if (file !== null) {
      await runMesh(['down'], { cwd })
      for (const n of file.nodes) if (isOurs(n.pid, 'node start')) process.kill(n.pid, 'SIGKILL')
    }
    rmSync(cwd, { recursive: true, force: true })
  })

  const up = await runMesh(['up', '--nodes', '1', '--base-port', String(basePort), ...FAST.flatMap((kv) => ['--set', kv])], { cwd })
  t.equal(up.code, 0, `mesh up with a non-default prefix: ${up.stderr}`)
  const path = join(cwd, '.mesh', 'cluster.json')
  file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile
  t.equal(statSync(path).mode & 0o777, 0o600, 'cluster.json is mode 0600')
  t.equal(file.config['redis.prefix'], 'lab7:', 'the --set values are in the cluster file')
  t.match(file.config['redis.url'], /^redis:\/\/lab7-admin:[0-9a-f]{48}@127\.0\.0\.1:\d+$/, 'and the registry URL, with the admin credential of its private redis-server (default user off)')
  t.match(up.stdout, /export MESH_REDIS_URL=redis:\/\/lab7-admin:\*\*\*@127\.0\.0\.1:\d+ +# the password is in \.mesh\/cluster\.json/, 'printed without its password')
  for (const n of file.nodes) {
    const state = JSON.parse(readFileSync(join(cwd, '.mesh', 'nodes', n.name, 'node.json'), 'utf8')) as { user: string, id: string }
    t.equal(state.user, `lab7-node-${state.id}`, `${n.name} runs on a Redis user of its own`)
    t.equal(statSync(join(cwd, '.mesh', 'nodes', n.name, 'node.json')).mode & 0o777, 0o600, `${n.name}'s credential is mode 0600`)
  }
  t.match(up.stdout, 'export MESH_REDIS_PREFIX=lab7:', 'mesh up says what a shell elsewhere needs')
  // The dashboard: mesh up made the cluster an admin token and printed where to open it.
  const token = file.config['node.adminToken']
  t.match(token, /^[A-Za-z0-9_-]{24}$/, 'the cluster got an admin token of its own')
  t.match(up.stdout, `Dashboard: http://${file.nodes[0].admin}/?token=${token}`, 'mesh up prints the dashboard with it')
  const page = async (path: string): Promise<number> => (await fetch(`http://${file?.nodes[0].admin}${path}`, { redirect: 'manual' })).status
  t.equal(await page(`/?token=${token}`), 200, 'the dashboard answers with the printed token')
  t.not(await page('/events'), 200, 'and its live feed not without it')
  t.notMatch(file.nodes.map((n) => readFileSync(`/proc/${n.pid}/cmdline`, 'utf8')).join('\n'), /redis|--set/, 'no registry URL or --set on the daemons\' command lines')

  const ls = await runMesh(['node', 'ls'], { cwd })
  t.equal(ls.code, 0, ls.stderr)
  t.match(ls.stdout, /node1 +Ready/, 'node ls in the directory reads the cluster under its prefix')

  // A node started by hand in the directory joins this cluster (not the default 127.0.0.1:6379).
  const hand = spawn(process.execPath, [CLI, 'node', 'start', '--name', 'byhand', '--advertise', '127.0.0.2', '--admin', `127.0.0.2:${handAdmin}`],
    { cwd, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let handLog = ''
  hand.stderr.on('data', (c: Buffer) => { handLog += c.toString() })
  const handExit = new Promise((resolve) => { hand.once('exit', resolve) })
  t.teardown(async () => { if (hand.exitCode === null && hand.signalCode === null) { hand.kill('SIGKILL'); await handExit } })
  const joined = await waitFor(async () => {
    const r = await runMesh(['node', 'ls'], { cwd })
    return /byhand +Ready/.test(r.stdout) ? r.stdout : null
  }, { timeout: 15_000, interval: 200, what: `the hand-started node in node ls (its log: ${handLog})` })
  t.match(joined, /node1 +Ready/, 'both nodes in one cluster')
  hand.kill('SIGTERM')
  await handExit

  const down = await runMesh(['down'], { cwd })
  t.equal(down.code, 0, down.stderr)
  t.match(down.stdout, /Stopped node1, redis-server/)
  t.notOk(file.nodes.some((n) => isOurs(n.pid, 'node start')), 'no node process left')
  file = null
})

t.test('a cluster file that is not one is refused, naming the file and the field', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-up-'))
  t.teardown(() => { rmSync(cwd, { recursive: true, force: true }) })
  const { mkdirSync, writeFileSync } = await import('node:fs')
  mkdirSync(join(cwd, '.mesh'))
  writeFileSync(join(cwd, '.mesh', 'cluster.json'), JSON.stringify({ version: 1, config: { 'redis.url': 'redis://127.0.0.1:1' }, redisPid: 0, nodes: [{ name: 'n' }], startedAt: '' }))
  const r = await runMesh(['service', 'ls'], { cwd })
  t.equal(r.code, 1)
  t.match(r.stderr, /cluster\.json: nodes\[0\]\.addr is not a string/)
})
