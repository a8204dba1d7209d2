/**
 * The Docker Swarm orchestration lab, end to end with the real CLI: `mesh up`
 * (3 node daemons on 127.0.0.1-3 and a private redis-server), a service
 * created, curled on every node, scaled to 5, its logs aggregated, rolled to
 * v2 under a request loop, a node killed with SIGKILL, drained, and
 * `mesh down`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClusterFile } from '../../lib/cluster/cluster-file'
import { isOurs } from '../../lib/cluster/local'
import { runMesh } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

const FAST = ['node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'registry.livenessInterval=200ms', 'registry.blockTimeout=1s',
  'scheduler.reconcileInterval=500ms', 'scheduler.leaseTtl=2s', 'tasks.drainDelay=300ms', 'redis.reconnectMaxDelay=200ms']

interface Run { code: number, stdout: string, stderr: string }

async function mesh (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return await runMesh(args, { cwd, env })
}

async function get (host: string, port: number): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end()
  })
}

/** Requests every `gap` ms round the nodes until stop(); counts failures. */
function loop (hosts: string[], port: number, gap = 20): { stop: () => Promise<{ ok: number, failed: string[], bodies: string[] }> } {
  let running = true
  const failed: string[] = []
  const bodies: string[] = []
  let ok = 0
  const done = (async () => {
    for (let i = 0; running; i++) {
      const host = hosts[i % hosts.length]
      try {
        const r = await get(host, port)
        if (r.status === 200) { ok++; bodies.push(r.body.trim()) } else failed.push(`${host}: ${r.status} ${r.body.trim()}`)
      } catch (err) {
        failed.push(`${host}: ${(err as Error).message}`)
      }
      await new Promise((resolve) => setTimeout(resolve, gap))
    }
  })()
  return { stop: async () => { running = false; await done; return { ok, failed, bodies } } }
}

t.test('the Swarm lab on one machine', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-lab-'))
  const adminPort = await freePort('127.0.0.1')
  const port = await freePort('127.0.0.1')
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3']
  let cluster: ClusterFile | null = null
  t.teardown(async () => {
    if (cluster !== null) {
      await mesh(cwd, ['down'])
      for (const n of cluster.nodes) if (isOurs(n.pid, 'node start')) process.kill(n.pid, 'SIGKILL')
    }
    rmSync(cwd, { recursive: true, force: true })
  })

  const up = await mesh(cwd, ['up', '--nodes', '3', '--base-port', String(adminPort), ...FAST.flatMap((kv) => ['--set', kv])])
  t.equal(up.code, 0, `mesh up: ${up.stderr}`)
  cluster = JSON.parse(readFileSync(join(cwd, '.mesh', 'cluster.json'), 'utf8')) as ClusterFile
  t.match(up.stdout, `export MESH_REDIS_URL=${cluster.config['redis.url'].replace(/:[0-9a-f]{48}@/, ':***@')}`)
  // Commands run in the directory find the cluster through .mesh/cluster.json (no --redis, no MESH_REDIS_URL).
  const env = {}

  const nodes = await mesh(cwd, ['node', 'ls'], env)
  t.match(nodes.stdout, /node1 +Ready +Active +Leader/, 'node1 is the leader')
  t.equal(nodes.stdout.match(/Ready/g)?.length, 3, 'three nodes ready')

  // Step 2: a service with one replica answers on every node.
  const created = await mesh(cwd, ['service', 'create', '--name', 'nginx1', '--publish', `${port}:80`, '--health-path', '/',
    '--update-order', 'start-first', '--update-monitor', '1s', '--', 'mesh', 'whoami', '--version-tag', 'v1'], env)
  t.equal(created.code, 0, `service create converged: ${created.stderr}`)
  for (const h of hosts) {
    const r = await waitFor(async () => { const x = await get(h, port); return x.status === 200 ? x : null }, { what: `answer on ${h}` })
    t.equal(r.body.trim(), 'nginx1.1 v1', `node ${h} answers from the one task`)
  }

  // Step 3: scale to 5: tasks on all 3 nodes, 5 distinct answers.
  const scaled = await mesh(cwd, ['service', 'scale', 'nginx1=5'], env)
  t.equal(scaled.code, 0, `scaled: ${scaled.stderr}`)
  const ps = await mesh(cwd, ['service', 'ps', 'nginx1'], env)
  const rows = ps.stdout.split('\n').filter((l) => / nginx1\.\d /.test(l) && l.includes('Running'))
  t.equal(rows.length, 5, '5 running tasks')
  t.same([...new Set(rows.map((l) => /node\d/.exec(l)?.[0]))].sort(), ['node1', 'node2', 'node3'], 'spread over all three nodes')
  const answers = new Set<string>()
  await waitFor(async () => {
    for (const h of hosts) answers.add((await get(h, port)).body.trim())
    return answers.size === 5
  }, { what: '5 distinct answers' })
  t.same([...answers].sort(), [1, 2, 3, 4, 5].map((i) => `nginx1.${i} v1`))

  // Step 4: aggregated logs hold lines from every task.
  const logs = await waitFor(async () => {
    const r = await mesh(cwd, ['service', 'logs', 'nginx1'], env)
    const names = new Set(r.stdout.split('\n').map((l) => /^nginx1\.(\d)\.\w+@node\d/.exec(l)?.[1]).filter((x) => x !== undefined))
    return names.size === 5 ? r.stdout : null
  }, { what: 'log lines from all 5 tasks' })
  t.ok(logs.length > 0, 'service logs shows every task, prefixed nginx1.<slot>.<id>@<node>')

  // Step 5: rolling update under load: zero failed requests, all v2 at the end, history in ps.
  const load = loop(hosts, port)
  const upd = await mesh(cwd, ['service', 'update', 'nginx1', '--command', '--', 'mesh', 'whoami', '--version-tag', 'v2'], env)
  t.equal(upd.code, 0, `update converged: ${upd.stderr}`)
  const during = await load.stop()
  t.same(during.failed, [], `0 failed of ${during.ok + during.failed.length} requests during the rolling update`)
  t.comment(`rolling update: ${during.ok} requests, ${during.failed.length} failed`)
  const after = new Set<string>()
  for (let i = 0; i < 15; i++) after.add((await get(hosts[i % 3], port)).body.trim().split(' ')[1])
  t.same([...after], ['v2'], 'every answer is v2')
  const history = await mesh(cwd, ['service', 'ps', 'nginx1'], env)
  t.equal(history.stdout.match(/\\_ nginx1\.\d/g)?.length, 5, 'the v1 tasks show as history rows')

  // Step 6: a node killed with SIGKILL: its tasks are replaced on the others, curls keep succeeding.
  const victim = cluster.nodes[2]
  const load2 = loop(['127.0.0.1', '127.0.0.2'], port)
  const t0 = Date.now()
  process.kill(victim.pid, 'SIGKILL')
  await waitFor(async () => {
    const r = await mesh(cwd, ['service', 'ps', 'nginx1'], env)
    const live = r.stdout.split('\n').filter((l) => / nginx1\.\d /.test(l) && / Running +Running/.test(l))
    return live.length === 5 && live.every((l) => !l.includes('node3'))
  }, { timeout: 15_000, interval: 200, what: 'tasks of node3 replaced' })
  const took = Date.now() - t0
  const killed = await load2.stop()
  t.same(killed.failed, [], `0 failed of ${killed.ok} requests while node3 died`)
  t.comment(`node SIGKILL -> tasks running elsewhere in ${took} ms (heartbeatTtl 1s, reconcileInterval 500ms)`)
  t.match((await mesh(cwd, ['node', 'ls'], env)).stdout, /node3 +Down/, 'node3 shows Down')

  // Drain node2: everything ends up on node1.
  const drain = await mesh(cwd, ['node', 'update', '--availability', 'drain', 'node2'], env)
  t.equal(drain.code, 0, drain.stderr)
  await waitFor(async () => {
    const r = await mesh(cwd, ['service', 'ps', 'nginx1'], env)
    const live = r.stdout.split('\n').filter((l) => / nginx1\.\d /.test(l) && / Running +Running/.test(l))
    return live.length === 5 && live.every((l) => l.includes('node1'))
  }, { timeout: 15_000, interval: 200, what: 'all tasks on node1 after draining node2' })
  t.pass('drain moved every task to node1')

  const down = await mesh(cwd, ['down'])
  t.equal(down.code, 0, down.stderr)
  t.match(down.stdout, /Stopped node1, node2, redis-server/)
  t.notOk(cluster.nodes.some((n) => isOurs(n.pid, 'node start')), 'no node process left')
  cluster = null
})
