/**
 * The lab across network namespaces: each node in its own namespace with its
 * own IP (like a separate host), joined by a bridge in a hub namespace that
 * also runs the registry; a client in a fourth namespace curls every node.
 * Needs root and `ip netns`; skipped with the reason otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { waitFor } from '../helpers/wait'

const CLI = join(__dirname, '..', '..', 'lib', 'cli', 'main.js')
const FAST = ['node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'registry.livenessInterval=200ms', 'registry.blockTimeout=1s',
  'scheduler.reconcileInterval=500ms', 'scheduler.leaseTtl=2s']
const tag = String(process.pid % 100000)
const HUB = `mh${tag}`
const NODES = [1, 2, 3].map((i) => ({ ns: `mn${tag}-${i}`, name: `node${i}`, ip: `10.77.0.${i}` }))
const CLIENT = { ns: `mc${tag}`, ip: '10.77.0.10' }
const REDIS = 'redis://10.77.0.254:6379'

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const inNs = (ns: string, cmd: string, args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })

function whyNot (): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  try {
    ip('netns', 'add', `mp${tag}`)
    ip('netns', 'del', `mp${tag}`)
    return null
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message.split('\n')[0]}`
  }
}

const skip = whyNot()

t.test('the lab across three network namespaces', { skip: skip ?? false }, async (t) => {
  const procs: ChildProcess[] = []
  t.teardown(async () => {
    for (const p of procs.slice(1)) p.kill('SIGTERM')
    await Promise.all(procs.slice(1).map(async (p) => await new Promise((resolve) => { if (p.exitCode !== null || p.signalCode !== null) resolve(null); else p.once('exit', resolve) })))
    procs[0]?.kill('SIGKILL')
    for (const ns of [HUB, CLIENT.ns, ...NODES.map((n) => n.ns)]) { try { ip('netns', 'del', ns) } catch {} }
  })

  ip('netns', 'add', HUB)
  ip('-n', HUB, 'link', 'set', 'lo', 'up')
  ip('-n', HUB, 'link', 'add', 'br0', 'type', 'bridge')
  ip('-n', HUB, 'addr', 'add', '10.77.0.254/24', 'dev', 'br0')
  ip('-n', HUB, 'link', 'set', 'br0', 'up')
  for (const [i, m] of [...NODES, CLIENT].entries()) {
    ip('netns', 'add', m.ns)
    ip('-n', HUB, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.ns)
    ip('-n', HUB, 'link', 'set', `v${i}`, 'master', 'br0', 'up')
    ip('-n', m.ns, 'addr', 'add', `${m.ip}/24`, 'dev', 'eth0')
    ip('-n', m.ns, 'link', 'set', 'eth0', 'up')
    ip('-n', m.ns, 'link', 'set', 'lo', 'up')
  }

  procs.push(spawn('ip', ['netns', 'exec', HUB, 'redis-server', '--port', '6379', '--bind', '10.77.0.254', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' }))
  await waitFor(() => inNs(HUB, 'redis-cli', ['-h', '10.77.0.254', 'ping']).trim() === 'PONG', { what: 'redis in the hub namespace' })
  // A new Redis: found the cluster first (its epoch), without a node of its own; the nodes run on its admin credential.
  t.match(inNs(HUB, process.execPath, [CLI, '--redis', REDIS, 'init', '--registry-only']), /^Cluster created/)

  const logs: string[] = []
  for (const [i, n] of NODES.entries()) {
    const p = spawn('ip', ['netns', 'exec', n.ns, process.execPath, CLI, 'node', 'start', '--name', n.name, '--advertise', n.ip,
      '--admin', `${n.ip}:9180`, '--redis', REDIS, ...FAST.flatMap((kv) => ['--set', kv]), ...(i === 0 ? ['--manager'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    logs[i] = ''
    p.stdout?.on('data', (c: Buffer) => { logs[i] += c.toString() })
    p.stderr?.on('data', (c: Buffer) => { logs[i] += c.toString() })
    procs.push(p)
  }
  const cli = (...args: string[]): string => inNs(HUB, process.execPath, [CLI, '--redis', REDIS, ...args])
  await waitFor(() => (cli('node', 'ls').match(/ Ready /g)?.length ?? 0) === 3, { timeout: 15_000, what: `three nodes ready (${logs.join('\n')})` })

  cli('service', 'create', '--name', 'nginx1', '--publish', '8080:80', '--replicas', '3', '--', 'mesh', 'whoami')
  const curl = (host: string): string => inNs(CLIENT.ns, 'curl', ['-s', '--max-time', '3', `http://${host}:8080/`]).trim()
  for (const n of NODES) {
    const body = await waitFor(() => curl(n.ip), { what: `answer from ${n.ip} in the client namespace` })
    t.match(body, /^nginx1\.\d$/, `${n.name} (${n.ip}) answers from its own namespace: ${body}`)
  }
  const ps = cli('service', 'ps', 'nginx1')
  t.equal(new Set(ps.match(/node\d/g)).size, 3, 'one task on each node (each in its own namespace)')
  const answers = new Set<string>()
  await waitFor(() => { for (let i = 0; i < 6; i++) answers.add(curl(NODES[i % 3].ip)); return answers.size === 3 }, { what: '3 distinct answers' })
  t.same([...answers].sort(), ['nginx1.1', 'nginx1.2', 'nginx1.3'], 'the routing mesh reaches tasks on the other hosts')
})
