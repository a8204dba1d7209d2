/**
 * Secrets: with a password-protected Redis (requirepass, from a 0600 config
 * file so redis-server's own argv holds none), a `mesh up` cluster, a
 * service, its tasks, a node started by hand with the URL on its command
 * line, and the CLI's error paths: the password appears in no `ps` line,
 * log line, metric, printed line or task environment. The cluster file,
 * which must hold it, is mode 0600.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClusterFile } from '../../lib/cluster/cluster-file'
import { isOurs } from '../../lib/cluster/local'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'
import { alive, call, childrenOf, CLI, FAST } from './agent-fixture'
import { runMesh, type RunResult } from '../helpers/mesh'

function environ (pid: number): string {
  try { return readFileSync(`/proc/${pid}/environ`, 'latin1') } catch { return '' }
}

t.test('a password-protected registry: the password shows nowhere', async (t) => {
  const password = `pw-${randomBytes(12).toString('hex')}`
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-secrets-'))
  const redisDir = mkdtempSync(join(tmpdir(), 'mesh-secrets-redis-'))
  const redisPort = await freePort('127.0.0.1')
  const conf = join(redisDir, 'redis.conf')
  writeFileSync(conf, `port ${redisPort}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir ${redisDir}\nrequirepass ${password}\n`, { mode: 0o600 })
  const redisProc = spawn('redis-server', [conf], { stdio: 'ignore' })
  const url = `redis://:${password}@127.0.0.1:${redisPort}`
  let file: ClusterFile | null = null
  let hand: ChildProcess | null = null
  t.teardown(async () => {
    hand?.kill('SIGKILL')
    if (file !== null) {
      await runMesh(['down'], { cwd })
      for (const n of file.nodes) if (isOurs(n.pid, 'node start')) process.kill(n.pid, 'SIGKILL')
    }
    redisProc.kill('SIGKILL')
    rmSync(cwd, { recursive: true, force: true })
    rmSync(redisDir, { recursive: true, force: true })
  })
  const admin = createRedis({ url, connectTimeout: 1000, reconnectMaxDelay: 200 })
  admin.on('error', () => {})
  t.teardown(() => { admin.disconnect() })
  await waitFor(async () => { if (admin.status === 'wait') await admin.connect(); return (await admin.ping()) === 'PONG' }, { what: 'redis-server with requirepass' })

  const printed: Array<[string, RunResult]> = []
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> => {
    const r = await runMesh(args, { cwd, env })
    printed.push([args.join(' '), r])
    return r
  }
  const basePort = await freePort('127.0.0.1')
  const up = await run(['up', '--nodes', '2', '--redis', url, '--base-port', String(basePort), ...FAST.flatMap((kv) => ['--set', kv])])
  t.equal(up.code, 0, `mesh up: ${up.stderr.replaceAll(password, '<pw>')}`)
  const clusterPath = join(cwd, '.mesh', 'cluster.json')
  file = JSON.parse(readFileSync(clusterPath, 'utf8')) as ClusterFile
  t.equal(statSync(clusterPath).mode & 0o777, 0o600, 'the cluster file (which holds the URL) is mode 0600')
  t.equal(file.config['redis.url'], url, 'and holds the password: the daemons and the CLI read it there')

  const port = await freePort('127.0.0.1')
  const created = await run(['service', 'create', '--name', 'web', '--replicas', '2', '--publish', `${port}:80`, '--env', 'GREETING=hello', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  for (const args of [['service', 'ls'], ['service', 'ps', 'web'], ['service', 'inspect', 'web'], ['node', 'ls'], ['service', 'logs', 'web']]) {
    const r = await run(args)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
  }
  // Error paths name the registry: redacted.
  const unreachable = await run(['service', 'ls', '--redis', `redis://:${password}@127.0.0.1:1`])
  t.match(unreachable, { code: 1, stderr: /cannot reach the registry at redis:\/\/:\*\*\*@127\.0\.0\.1:1/ })
  const malformed = await run(['service', 'ls'], { MESH_REDIS_URL: `redis://:${password}@bad host:1` })
  t.match(malformed, { code: 2, stderr: /config key redis\.url: .*\*\*\*/ })
  const wrong = await run(['service', 'ls'], { MESH_REDIS_URL: `redis://:not-${password}@127.0.0.1:${redisPort}` })
  t.equal(wrong.code, 1, 'a wrong password is refused')

  // A node started by hand with the URL on its command line (not recommended): its title drops the password.
  const handAdmin = `127.0.0.3:${await freePort('127.0.0.3')}`
  let handLog = ''
  hand = spawn(process.execPath, [CLI, 'node', 'start', '--name', 'byhand', '--advertise', '127.0.0.3', '--admin', handAdmin, '--redis', url, ...FAST.flatMap((kv) => ['--set', kv])],
    { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  hand.stdout?.on('data', (c: Buffer) => { handLog += c.toString() })
  hand.stderr?.on('data', (c: Buffer) => { handLog += c.toString() })
  await waitFor(async () => (await call(`http://${handAdmin}/healthz`)).status === 200, { timeout: 15_000, what: 'the hand-started node' })

  // Everything running: tasks up and serving on every node.
  const store = new RegistryStore(admin, 'mesh:')
  const tasks = await waitFor(async () => {
    const live = [...(await store.snapshot()).tasks.values()].filter((x) => x.service === 'web' && x.desired === 'running' && x.state === 'running')
    return live.length === 2 ? live : null
  }, { timeout: 20_000, what: '2 running tasks' })
  await waitFor(async () => (await call(`http://127.0.0.1:${port}/`)).status === 200, { what: 'the service answers' })
  t.ok(tasks.every((x) => alive(x.pid)), 'task processes found')

  // ps: every process on the machine.
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8', maxBuffer: 16 << 20 })
  t.same(ps.split('\n').filter((l) => l.includes(password)), [], 'no ps line holds the password')
  t.ok(ps.includes('node start --name node1'), 'the daemons are in that ps output')
  t.ok(ps.includes('node start --name byhand'), 'and so is the node started by hand (its title redacted)')
  t.match(handLog, /password was given on the command line/, 'which was told where the password belongs')

  // Task environments, and their supervisors': minimal, no credential.
  const daemons = [...file.nodes.map((n) => n.pid), hand.pid ?? 0]
  const supervisors = daemons.flatMap(childrenOf)
  t.ok(supervisors.length >= 2, 'the tasks\' supervisors found')
  for (const pid of [...tasks.map((x) => x.pid), ...supervisors]) {
    const env = environ(pid)
    t.ok(env.includes('MESH_TASK_ID='), `pid ${pid} is a task process`)
    t.notOk(env.includes(password), `pid ${pid}: no password in its environment`)
    t.notOk(env.split('\0').some((kv) => kv.startsWith('MESH_REDIS')), `pid ${pid}: no registry configuration in its environment`)
  }

  // Metrics and health of every node.
  for (const a of [...file.nodes.map((n) => n.admin), handAdmin]) {
    for (const path of ['/metrics', '/healthz']) {
      const r = await call(`http://${a}${path}`)
      t.equal(r.status, 200)
      t.notOk(r.body.includes(password), `${a}${path}: no password`)
    }
  }

  // Log files and everything printed.
  const logs = readdirSync(join(cwd, '.mesh')).filter((f) => f.endsWith('.log'))
  t.ok(logs.length >= 2, 'node logs found')
  for (const f of logs) t.notOk(readFileSync(join(cwd, '.mesh', f), 'utf8').includes(password), `${f}: no password`)
  t.notOk(handLog.includes(password), 'the hand-started node\'s log: no password')
  for (const [what, r] of printed) t.notOk(r.stdout.includes(password) || r.stderr.includes(password), `mesh ${what.replaceAll(password, '<pw>')}: printed no password`)
  t.match(up.stdout, /export MESH_REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ +# the password is in \.mesh\/cluster\.json/, 'mesh up points at the file instead')
  t.comment(`password checked in ${ps.split('\n').length} ps lines, ${tasks.length + supervisors.length} task environments, ${logs.length + 1} logs, ${(file.nodes.length + 1) * 2} metric/health pages, ${printed.length} CLI outputs: found in none`)

  hand.kill('SIGTERM')
  const down = await run(['down'])
  t.equal(down.code, 0, down.stderr)
  file = null
})
