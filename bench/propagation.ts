/**
 * Change propagation: time from a registry write to the change being served
 * by a running node, for endpoint add, remove and health flips, with 10 and
 * 1,000 services in the registry.
 *
 *   npm run bench:propagation -- [--services 10,1000] [--trials 40] [--timeout 3000] [--settle 1000]
 *
 * Set-up per service count: a private Redis; service p0 created with the CLI
 * (`mesh service create`) as the template, p1..pN-1 cloned from it through
 * RegistryStore.write (one CLI process per service would take minutes); every
 * service publishes its own port 30000+i and has endpoint A. Each service has
 * an active check with a 1 h interval, so the node's prober never overrides
 * the health records the bench writes (it probes a new endpoint once, right
 * away; the bench waits for that probe, untimed, before flipping health).
 *
 * One trial on service i: write, then GET the port back to back on one
 * keep-alive connection until the change shows (backends answer their name):
 *   add           task B + health(B)=healthy in one write -> until B answers
 *   health-down   health(B)=unhealthy                     -> until A answers twice in a row
 *   health-up     health(B)=healthy                       -> until B answers
 *   remove        delete task B and health(B)             -> until A answers twice in a row
 *   cert          the certificate of an https port replaced (mesh:certs) -> until a new TLS
 *                 handshake presents it (one handshake after another on loopback)
 */
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { connect as tlsConnect } from 'node:tls'
import { debuglog } from 'node:util'
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import type { WriteOp } from '../lib/registry/store'
import { staticTaskId } from '../lib/registry/ids'
import type { HealthRecord, ServiceSpec, TaskRecord } from '../lib/registry/types'
import { newId } from '../lib/util/ids'
import { parseArgs } from './common/args'
import { fmt, saveResults, table, verdictTable, type Verdict } from './common/format'
import { get, meshCli, meshMissing, startMeshNode, waitServing, ROOT } from './common/mesh'
import { assertFree, startProc, stopProc, waitForPort, type Proc } from './common/procs'
import { openStore, startRedis } from './common/redis'

const args = parseArgs()
const COUNTS = args.get('services', '10,1000').split(',').map(Number)
const TRIALS = args.num('trials', 40)
const TIMEOUT = args.num('timeout', 3000)
const SETTLE = args.num('settle', 1000)
const NODE_ADDR = '127.0.0.70'
const ADMIN = '127.0.0.70:9180'
const BASE_PORT = 30000
const A = { host: '127.0.0.71', port: 9001, name: 'A' }
const B = { host: '127.0.0.72', port: 9001, name: 'B' }
const PREFIX = 'mesh:'
const debug = debuglog('mesh:bench')
const KINDS = ['add', 'health-down', 'health-up', 'remove', 'cert'] as const
type Kind = typeof KINDS[number]

interface Stats { n: number, failed: number, p50: number, p99: number, max: number, mean: number }

function stats (samples: number[], failed: number): Stats {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
  return { n: s.length, failed, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) }
}

function getBody (url: string, agent: http.Agent): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 1000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null))
      res.on('error', () => resolve(null))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(null))
  })
}

/** Polls until `want` answers `times` times in a row; returns performance.now() then, or null at the deadline. */
async function until (url: string, agent: http.Agent, want: string, times: number, deadline: number): Promise<number | null> {
  let streak = 0
  const last: Array<string | null> = []
  while (performance.now() < deadline) {
    const body = await getBody(url, agent)
    streak = body === want ? streak + 1 : 0
    if (streak >= times) return performance.now()
    last.push(body)
    if (last.length > 8) last.shift()
  }
  debug('%s: %s not seen %d times in a row; last answers: %j', url, want, times, last)
  return null
}

/**
 * Active checks the node has run (`health_probes` in /healthz; NaN when missing). Not read from
 * /metrics: polling a 1,000-service scrape every 10 ms made the node collect megabytes of garbage
 * right before the timed changes, and its GC pauses showed up in their tail.
 */
async function probes (): Promise<number> {
  try {
    const n = Number((JSON.parse((await get(`http://${ADMIN}/healthz`, 2000)).body) as { health_probes?: number }).health_probes)
    return Number.isFinite(n) ? n : NaN
  } catch { return NaN }
}

/** Waits (bounded) until the prober ran at least one more check, plus a margin for its verdict. */
async function probed (before: number): Promise<void> {
  const deadline = Date.now() + 2000
  while (!Number.isNaN(before) && Date.now() < deadline) {
    const now = await probes()
    if (Number.isNaN(now) || now > before) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await new Promise((resolve) => setTimeout(resolve, Number.isNaN(before) ? 300 : 50))
}

/** Two certificates for the same name (the trials alternate them), PEM. */
function makeCerts (): Array<{ cert: string, key: string, serial: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mesh-prop-certs-'))
  try {
    return ['one', 'two'].map((n) => {
      const key = path.join(dir, `${n}.key`)
      const cert = path.join(dir, `${n}.crt`)
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
        '-days', '2', '-subj', '/CN=prop.example', '-addext', 'subjectAltName=DNS:prop.example'], { stdio: 'ignore' })
      const pem = readFileSync(cert, 'utf8')
      return { cert: pem, key: readFileSync(key, 'utf8'), serial: new X509Certificate(pem).serialNumber }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The serial of the certificate a new handshake gets, or null. */
function handshake (port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: NODE_ADDR, port, servername: 'prop.example', rejectUnauthorized: false, session: undefined }, () => {
      const serial = (s.getPeerX509Certificate() as X509Certificate | undefined)?.serialNumber ?? null
      s.destroy()
      resolve(serial)
    })
    s.setTimeout(1000, () => { s.destroy(); resolve(null) })
    s.once('error', () => { resolve(null) })
  })
}

const health = (status: 'healthy' | 'unhealthy'): HealthRecord => ({ v: 1, status, at: Date.now(), by: 'bench', detail: 'bench' })

async function runCount (n: number): Promise<{ n: number, stats: Record<Kind, Stats>, writeAck: Stats }> {
  const redis = await startRedis('1')
  const { client, store } = await openStore(redis.url, PREFIX)
  let node: Proc | null = null
  try {
    await meshCli(['init', '--registry-only'], redis.url) // found the cluster (its epoch) alone: the bench starts its nodes itself
    // Template through the CLI, so the bench follows whatever records it writes.
    await meshCli(['service', 'create', '--name', 'p0', '--publish', `${BASE_PORT}:80`, '--endpoint', `${A.host}:${A.port}`], redis.url)
    const snap = await store.snapshot()
    const tmplEntry = [...snap.services.entries()].find(([, s]) => s.name === 'p0')
    if (tmplEntry === undefined) throw new Error('service p0 not found in the registry after `mesh service create`')
    const [tmplKey, tmplSpec] = tmplEntry
    const keyByName = tmplKey === tmplSpec.name
    const tmplTask = [...snap.tasks.values()].find((t) => t.serviceId === tmplSpec.id)
    if (tmplTask === undefined) throw new Error('the static endpoint of p0 is not in the registry')

    const specs: ServiceSpec[] = []
    const tasksA: TaskRecord[] = []
    let ops: WriteOp[] = []
    const flush = async (): Promise<void> => { if (ops.length > 0) { await store.write(ops); ops = [] } }
    for (let i = 0; i < n; i++) {
      const spec: ServiceSpec = {
        ...tmplSpec,
        id: i === 0 ? tmplSpec.id : newId(),
        name: `p${i}`,
        ports: [{ published: BASE_PORT + i, target: 80, protocol: 'http' }],
        health: { type: 'tcp', path: '', interval: 3_600_000, timeout: 1000, rise: 1, fall: 1 }
      }
      const task: TaskRecord = { ...tmplTask, id: staticTaskId(spec.id, A.host, A.port), serviceId: spec.id, service: spec.name }
      specs.push(spec)
      tasksA.push(task)
      ops.push({ type: 'service', id: keyByName ? spec.name : spec.id, value: spec },
        { type: 'task', id: task.id, value: task }, { type: 'health', id: task.id, value: health('healthy') })
      if (ops.length >= 300) await flush()
    }
    // One https service on the next port, its certificate replaced by the `cert` trials.
    const certs = makeCerts()
    const tlsPort = BASE_PORT + n
    const tlsSpec: ServiceSpec = { ...tmplSpec, id: newId(), name: 'tlsprop', ports: [{ published: tlsPort, target: 80, protocol: 'https' }], options: { backend: 'http1', cert: 'prop', proxyProtocol: 0, redirectHttps: false } }
    const tlsTask: TaskRecord = { ...tmplTask, id: staticTaskId(tlsSpec.id, A.host, A.port), serviceId: tlsSpec.id, service: tlsSpec.name }
    const certOp = (i: number): WriteOp => ({ type: 'cert', id: 'prop', value: { v: 1, name: 'prop', cert: certs[i].cert, key: certs[i].key, createdAt: Date.now(), updatedAt: Date.now() } })
    ops.push({ type: 'service', id: tlsSpec.name, value: tlsSpec }, { type: 'task', id: tlsTask.id, value: tlsTask }, certOp(0))
    await flush()

    node = startMeshNode({ name: 'prop', advertise: NODE_ADDR, admin: ADMIN, redisUrl: redis.url, cpu: '0' })
    await waitForPort(NODE_ADDR, BASE_PORT + n - 1, 60_000, node)
    await waitServing(`http://${NODE_ADDR}:${BASE_PORT + n - 1}/`, 30_000, node)
    // Let start-up work finish (first probes of every endpoint, metrics set-up): steady state is measured.
    await new Promise((resolve) => setTimeout(resolve, SETTLE))

    const samples: Record<Kind, number[]> = { add: [], 'health-down': [], 'health-up': [], remove: [], cert: [] }
    const failed: Record<Kind, number> = { add: 0, 'health-down': 0, 'health-up': 0, remove: 0, cert: 0 }
    await waitForPort(NODE_ADDR, tlsPort, 30_000, node)
    const acks: number[] = []
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    for (let k = 0; k < TRIALS; k++) {
      const i = (k * 7919 + 1) % n
      const spec = specs[i]
      const url = `http://${NODE_ADDR}:${BASE_PORT + i}/`
      const taskB: TaskRecord = { ...tasksA[i], id: staticTaskId(spec.id, B.host, B.port), host: B.host, port: B.port, slot: tasksA[i].slot + 1 }
      const steps: Array<{ kind: Kind, ops: WriteOp[], want: string, times: number }> = [
        { kind: 'add', ops: [{ type: 'task', id: taskB.id, value: taskB }, { type: 'health', id: taskB.id, value: health('healthy') }], want: B.name, times: 1 },
        { kind: 'health-down', ops: [{ type: 'health', id: taskB.id, value: health('unhealthy') }], want: A.name, times: 2 },
        { kind: 'health-up', ops: [{ type: 'health', id: taskB.id, value: health('healthy') }], want: B.name, times: 1 },
        { kind: 'remove', ops: [{ type: 'task', id: taskB.id, value: null }, { type: 'health', id: taskB.id, value: null }], want: A.name, times: 2 }
      ]
      for (const step of steps) {
        const probesBefore = step.kind === 'add' ? await probes() : NaN
        const t0 = performance.now()
        await store.write(step.ops)
        acks.push(performance.now() - t0)
        const seen = await until(url, agent, step.want, step.times, t0 + TIMEOUT)
        if (seen === null) failed[step.kind]++
        else samples[step.kind].push(seen - t0)
        // The prober probes a new endpoint once, right away; a flip written before that probe
        // finished would be overridden by it (correctly). Wait for it, outside the timed part.
        if (step.kind === 'add') await probed(probesBefore)
      }
      // The certificate: replaced, then new handshakes until one presents it.
      const next = (k + 1) % 2
      const t0 = performance.now()
      await store.write([certOp(next)])
      acks.push(performance.now() - t0)
      let seen: number | null = null
      while (performance.now() < t0 + TIMEOUT) {
        if (await handshake(tlsPort) === certs[next].serial) { seen = performance.now(); break }
      }
      if (seen === null) failed.cert++
      else samples.cert.push(seen - t0)
      if (node.exitCode() !== undefined) throw new Error(`node exited during the trials:\n${node.tail()}`)
    }
    agent.destroy()
    // Only under NODE_DEBUG=mesh:bench: a 1,000-service scrape is not free.
    const text = debug.enabled ? (await get(`http://${ADMIN}/metrics`, 2000).catch(() => ({ body: '' }))).body : ''
    if (text !== '') debug('node side: %s', text.split('\n').filter((l) => /^(mesh_change_propagation_seconds_bucket|nodejs_gc_duration_seconds_(bucket|sum|count))/.test(l) && !/ 0$/.test(l)).join('\n'))
    return {
      n,
      stats: Object.fromEntries(KINDS.map((k) => [k, stats(samples[k], failed[k])])) as Record<Kind, Stats>,
      writeAck: stats(acks, 0)
    }
  } finally {
    if (node !== null) await stopProc(node)
    client.disconnect()
    await redis.stop()
  }
}

async function main (): Promise<void> {
  const missing = meshMissing()
  if (missing !== null) {
    process.stdout.write(`propagation: skipped: ${missing}\n`)
    return
  }
  for (const a of [A, B]) await assertFree(a.host, a.port)
  await assertFree(NODE_ADDR, BASE_PORT)
  const backend = startProc('backends A,B', process.execPath, [path.join(ROOT, 'dist/bench/backend/http.js'),
    '--listen', `${A.host}:${A.port}=${A.name}`, '--listen', `${B.host}:${B.port}=${B.name}`], { cpu: '1' })
  await waitForPort(A.host, A.port, 10_000, backend)
  await waitForPort(B.host, B.port, 10_000, backend)
  const started = new Date().toISOString()
  const results = []
  for (const n of COUNTS) {
    process.stderr.write(`-- ${n} services, ${TRIALS} trials ...\n`)
    results.push(await runCount(n))
  }
  await stopProc(backend)

  const rows: string[][] = []
  for (const r of results) {
    for (const k of KINDS) {
      const s = r.stats[k]
      rows.push([String(r.n), k, String(s.n), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 2), fmt(s.mean, 2), String(s.failed)])
    }
  }
  process.stdout.write(`\nchange propagation  ${started}  (ms from the write call to the change being served; ${TRIALS} trials each, timeout ${TIMEOUT} ms)\n\n`)
  process.stdout.write(table(['services', 'change', 'n', 'p50', 'p99', 'max', 'mean', 'not seen'], rows) + '\n')
  for (const r of results) process.stdout.write(`  registry write ack (Redis round trip) at ${r.n} services: p50 ${fmt(r.writeAck.p50, 2)} ms, p99 ${fmt(r.writeAck.p99, 2)} ms\n`)

  const verdicts: Verdict[] = []
  const big = results.find((r) => r.n === 1000)
  for (const k of KINDS) {
    const s = big?.stats[k]
    verdicts.push(s === undefined
      ? { target: `propagation p99 at 1,000 services (${k})`, kind: 'target', value: '-', limit: '<= 50 ms', status: 'SKIP', note: 'not run with 1000 services' }
      : {
          target: `propagation p99 at 1,000 services (${k})`,
          kind: 'target',
          value: `${fmt(s.p99, 2)} ms${s.failed > 0 ? `, ${s.failed} not seen` : ''}`,
          limit: '<= 50 ms',
          status: s.failed === 0 && s.p99 <= 50 ? 'PASS' : 'FAIL'
        })
  }
  process.stdout.write('\ntargets (issue 5)\n\n' + verdictTable(verdicts) + '\n')
  const file = saveResults('propagation', { kind: 'propagation', started, options: { counts: COUNTS, trials: TRIALS, timeout: TIMEOUT }, results, verdicts })
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`)
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`bench:propagation failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
