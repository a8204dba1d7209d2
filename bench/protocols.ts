/**
 * Protocols benchmark (issue 12): TLS termination, HTTP/2 and UDP, routemesh
 * side by side with haproxy and with a minimal Node relay, in ONE run, same
 * backends, same load. See bench/README.md "Protocols".
 *
 *   npm run bench:protocols -- [--duration 5] [--warmup 1] [--connections 64] [--handshake-seconds 3] [--handshake-clients 2]
 *                              [--h2-connections 8] [--h2-streams 8] [--udp-flows 64] [--udp-rate 20000[,40000]]
 *                              [--udp-size 64] [--only https,h2,udp] [--rounds 1] [--retries 2] [--max-noise 10]
 *
 * Layout (all loopback): HTTP backends 127.0.0.91-93:9001 and UDP echo
 * 127.0.0.91-93:5300 (one process), Redis and every load tool on CPU 1;
 * the proxy under test alone on CPU 0.
 *   routemesh  node `pbench` on 127.0.0.90: https 8443 (cert `bench`), udp 5353
 *   haproxy    127.0.0.95:8443 (`ssl crt` the same certificate, alpn h2,http/1.1)
 *   udp-relay  127.0.0.96:5353 (bench/baselines/udp-relay.ts), 127.0.0.97:5353 the same with unconnected sockets out
 *   h2-floor   127.0.0.98:8443 (bench/baselines/h2-floor.ts): node:http2 answering every stream itself, the
 *              h2 row only; what Node's HTTP/2 costs before any proxying (info, no target)
 *   direct     the UDP client straight to one echo socket
 * Records are written into the registry directly (RegistryStore), not with
 * the CLI: the service, its static endpoints, the certificate and the
 * cluster's ticket keys.
 *
 * Per TLS proxy: HTTPS/1.1 keep-alive (wrk), one TLS connection per request
 * (wrk, `Connection: close`), serial handshakes with `openssl s_time` (full,
 * then resumed by ticket), HTTP/2 (h2load). Per UDP target: echo load at each
 * rate. CPU from /proc/PID/stat of the proxy's process tree around each
 * measured run. A row measured while other work used more than --max-noise
 * % of CPU 0 is measured again (--retries times at most), the quietest kept.
 * Each round starts every proxy fresh; rounds alternate the order; the table
 * uses medians. PASS/FAIL lines never change the exit code.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { staticTask } from '../lib/service/endpoints'
import { SCHEMA_VERSION, type ServiceRouteOptions, type ServiceSpec, type PublishedPort } from '../lib/registry/types'
import type { WriteOp } from '../lib/registry/store'
import { newId } from '../lib/util/ids'
import { parseArgs } from './common/args'
import { fmt, mb, ms, saveResults, table, verdictTable, type Verdict } from './common/format'
import { loadTool, runLoad } from './common/load'
import { MESH_CLI, meshMissing, startMeshNode, waitServing, ROOT } from './common/mesh'
import { assertFree, CLK_TCK, cpuBusyMicros, cpuCount, cpuMicros, loadAverage, rssBytes, run, sleep, startProc, stopProc, tools, tree, waitForPort, type Proc } from './common/procs'
import { openStore, startRedis, type PrivateRedis } from './common/redis'
import { h2load, makeCert, sTime, tlsProbe, tlsTools, type BenchCert, type TlsInfo } from './common/tls-tools'
import { runUdpLoad } from './common/udp-load'

const args = parseArgs()
const DURATION = args.num('duration', 5)
const WARMUP = args.num('warmup', 1)
const CONNECTIONS = args.num('connections', 64)
const HS_SECONDS = args.num('handshake-seconds', 3)
const HS_CLIENTS = Math.max(1, Math.floor(args.num('handshake-clients', 2)))
const H2_CONNS = args.num('h2-connections', 8)
const H2_STREAMS = args.num('h2-streams', 8)
const UDP_FLOWS = args.num('udp-flows', 64)
const UDP_RATES = args.get('udp-rate', '20000').split(',').map((r) => {
  const n = Number(r)
  if (!Number.isFinite(n) || n <= 0 || n > 200_000) throw new Error(`--udp-rate: "${r}" is not a rate in (0, 200000] datagrams/s`)
  return n
})
const UDP_SIZE = args.num('udp-size', 64)
const ROUNDS = Math.max(1, Math.floor(args.num('rounds', 1)))
const RETRIES = Math.max(0, Math.floor(args.num('retries', 2)))
const MAX_NOISE = args.num('max-noise', 10) / 100
const ONLY = new Set(args.get('only', 'https,h2,udp').split(','))
for (const o of ONLY) if (!['https', 'h2', 'udp'].includes(o)) throw new Error(`--only: unknown row "${o}" (https, h2, udp)`)

const PROXY_CPU = '0'
const LOAD_CPU = '1'
const BACKENDS = ['127.0.0.91:9001', '127.0.0.92:9001', '127.0.0.93:9001']
const ECHOES = ['127.0.0.91:5300', '127.0.0.92:5300', '127.0.0.93:5300']
const UDP_CLIENT = '127.0.0.99'
const DIST = path.join(ROOT, 'dist', 'bench')
const CERT_HOST = 'bench.test'
const PREFIX = 'mesh:'
const MESH = { advertise: '127.0.0.90', admin: '127.0.0.90:9180', https: 8443, udp: 5353 }
const HAPROXY = { host: '127.0.0.95', port: 8443 }
const RELAY = { host: '127.0.0.96', port: 5353 }
const H2_FLOOR = { host: '127.0.0.98', port: 8443 }
const RELAY_UNCONNECTED = { host: '127.0.0.97', port: 5353 }

type Kind = 'https keep-alive' | 'https close' | 'handshake new' | 'handshake resumed' | 'h2' | 'udp'

interface Row {
  kind: Kind
  proxy: string
  /** UDP: offered datagrams/s. */
  offered?: number
  skipped?: string
  error?: string
  /** Requests, handshakes or echoed datagrams in the measured run. */
  ops?: number
  perSec?: number
  p50?: number
  p99?: number
  /** Proxy CPU (utime+stime of its process tree) per op, microseconds. */
  cpuUs?: number
  /** Share of CPU 0 used by anything but the proxy during the measured run. */
  noise?: number
  /** Measurements made of this row (a noisy one is measured again, --retries). */
  attempts?: number
  loadAvg?: number
  rss?: number
  errors?: number
  errorDetail?: string
  /** Handshakes: the share resumed. */
  resumed?: number
  /** UDP. */
  sent?: number
  lossPct?: number
  misdelivered?: number
  /** UDP: late echoes of the warm-up run (same source port reused), ignored. */
  stale?: number
}

let tmp = ''
function tmpDir (): string {
  if (tmp === '') {
    tmp = mkdtempSync(path.join(tmpdir(), 'routemesh-protocols-'))
    process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
  }
  return tmp
}

const benchScript = (script: string, argv: string[], cpu: string, name: string): Proc =>
  startProc(name, process.execPath, [path.join(DIST, script), ...argv], { cpu })

/** CPU of proc's tree and of CPU 0 around fn; per-op figures once fn says how many ops it did. */
async function measured<T> (proc: Proc | null, fn: () => Promise<T>, ops: (r: T) => number): Promise<{ r: T, cpuUs?: number, noise?: number, rss?: number }> {
  const before = proc === null ? 0 : cpuMicros(tree(proc.pid))
  const busyBefore = cpuBusyMicros(Number(PROXY_CPU))
  const t0 = process.hrtime.bigint()
  const r = await fn()
  const after = proc === null ? 0 : cpuMicros(tree(proc.pid))
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000
  const own = after - before
  const n = ops(r)
  return {
    r,
    cpuUs: proc === null || n <= 0 ? undefined : own / n,
    noise: proc === null ? undefined : Math.max(0, (cpuBusyMicros(Number(PROXY_CPU)) - busyBefore - own) / wallUs),
    rss: proc === null ? undefined : rssBytes(tree(proc.pid))
  }
}

// --- the registry: one private Redis, records written once.
const routeOptions = (cert: string | null): ServiceRouteOptions => ({ backend: 'http1', cert, proxyProtocol: 0, redirectHttps: false })

function serviceSpec (name: string, ports: PublishedPort[], options: ServiceRouteOptions): ServiceSpec {
  const now = Date.now()
  const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 5000 }
  return {
    v: SCHEMA_VERSION,
    id: newId(),
    name,
    mode: 'replicated',
    replicas: 0,
    ports,
    hosts: [],
    health: null,
    command: [],
    env: {},
    update,
    rollback: { ...update },
    restart: { condition: 'any', delay: 0, maxAttempts: 0 },
    stopGrace: 2000,
    options,
    version: 1,
    updateState: '',
    updateMessage: '',
    createdAt: now,
    updatedAt: now,
    previous: null
  }
}

const endpoint = (text: string): { host: string, port: number } => ({ host: text.split(':')[0], port: Number(text.split(':')[1]) })

async function writeRegistry (redis: PrivateRedis, cert: BenchCert): Promise<void> {
  // Found the cluster (its epoch) alone: no daemon, nothing written into a state directory (cwd: the temp dir).
  await run(process.execPath, [MESH_CLI, 'init', '--registry-only', '--redis', redis.url], { cwd: tmpDir(), timeoutMs: 30_000 })
  const { client, store } = await openStore(redis.url, PREFIX)
  try {
    const now = Date.now()
    const web = serviceSpec('web', [{ published: MESH.https, target: 80, protocol: 'https' }], routeOptions(cert.name))
    const echo = serviceSpec('echo', [{ published: MESH.udp, target: 5300, protocol: 'udp' }], routeOptions(null))
    const ops: WriteOp[] = [
      { type: 'cert', id: cert.name, value: { v: 1, name: cert.name, cert: cert.cert, key: cert.key, createdAt: now, updatedAt: now } },
      { type: 'tls', id: 'tickets', value: { v: 1, ticketKeys: randomBytes(48).toString('hex'), createdAt: now } },
      { type: 'service', id: web.name, value: web },
      ...BACKENDS.map((b, i): WriteOp => { const t = staticTask(web, endpoint(b), i + 1, now); return { type: 'task', id: t.id, value: t } }),
      { type: 'service', id: echo.name, value: echo },
      ...ECHOES.map((b, i): WriteOp => { const t = staticTask(echo, endpoint(b), i + 1, now); return { type: 'task', id: t.id, value: t } })
    ]
    await store.write(ops)
  } finally {
    client.disconnect()
  }
}

function haproxyConfig (cert: BenchCert): string {
  const servers = BACKENDS.map((b, i) => `  server s${i + 1} ${b}`).join('\n')
  // The ciphers routemesh uses (lib/proxy/tls/cert-store.ts INTERMEDIATE; TLS 1.3 suites: OpenSSL's defaults in both).
  const conf = `global
  nbthread 1
  maxconn 8000
  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 2s
  timeout client 65s
  timeout server 65s
  option http-keep-alive
frontend fs
  bind ${HAPROXY.host}:${HAPROXY.port} ssl crt ${cert.bundleFile} alpn h2,http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  default_backend b7
backend b7
  balance roundrobin
  http-reuse always
${servers}
`
  const file = path.join(tmpDir(), 'haproxy.cfg')
  writeFileSync(file, conf)
  return file
}

interface TlsTarget {
  name: string
  host: string
  port: number
  skip: () => string | null
  start: () => Promise<Proc>
  /** The only rows this target is measured for (default: every TLS row asked for). */
  only?: Kind[]
}
interface UdpTarget { name: string, host: string, port: number, skip: () => string | null, start: () => Promise<Proc | null>, note?: string }

async function tlsRows (t: TlsTarget, probes: Map<string, TlsInfo>): Promise<Row[]> {
  const kinds: Kind[] = [...(ONLY.has('https') ? ['https keep-alive', 'https close', 'handshake new', 'handshake resumed'] as Kind[] : []), ...(ONLY.has('h2') ? ['h2'] as Kind[] : [])]
    .filter((k) => t.only === undefined || t.only.includes(k))
  if (kinds.length === 0) return []
  const skip = t.skip()
  if (skip !== null) return kinds.map((kind) => ({ kind, proxy: t.name, skipped: skip }))
  process.stderr.write(`-- ${t.name} (TLS) ...\n`)
  const url = `https://${t.host}:${t.port}/`
  let p: Proc | null = null
  const rows: Row[] = []
  try {
    p = await t.start()
    probes.set(t.name, await tlsProbe(t.host, t.port, CERT_HOST))
    const base = (kind: Kind): Row => ({ kind, proxy: t.name, loadAvg: loadAverage() })
    for (const kind of kinds) {
      const proc = p
      rows.push(await quietest(async () => {
        if (kind === 'https keep-alive' || kind === 'https close') {
          const close = kind === 'https close'
          if (WARMUP > 0) await runLoad({ url, connections: CONNECTIONS, seconds: WARMUP, close, cpu: LOAD_CPU })
          const m = await measured(proc, () => runLoad({ url, connections: CONNECTIONS, seconds: DURATION, close, cpu: LOAD_CPU }), (r) => r.requests)
          return { ...base(kind), ops: m.r.requests, perSec: m.r.rps, p50: m.r.p50, p99: m.r.p99, cpuUs: m.cpuUs, noise: m.noise, rss: m.rss, errors: m.r.errors, errorDetail: m.r.errorDetail !== '' ? m.r.errorDetail : undefined }
        } else if (kind === 'handshake new' || kind === 'handshake resumed') {
          const mode = kind === 'handshake new' ? 'new' : 'reuse'
          const m = await measured(proc, () => sTime(t.host, t.port, mode, HS_SECONDS, HS_CLIENTS, LOAD_CPU), (r) => r.connections)
          return { ...base(kind), ops: m.r.connections, perSec: m.r.rate, cpuUs: m.cpuUs, noise: m.noise, rss: m.rss, resumed: mode === 'reuse' && m.r.connections > 0 ? m.r.resumed / m.r.connections : undefined }
        }
        const o = { connections: H2_CONNS, streams: H2_STREAMS, cpu: LOAD_CPU, logDir: tmpDir() }
        if (WARMUP > 0) await h2load(url, { ...o, seconds: WARMUP })
        const m = await measured(proc, () => h2load(url, { ...o, seconds: DURATION }), (r) => r.requests)
        const notH2 = m.r.protocol !== 'h2' ? `h2load negotiated "${m.r.protocol}", not h2` : undefined
        return { ...base(kind), ops: m.r.requests, perSec: m.r.rps, p50: m.r.p50, p99: m.r.p99, cpuUs: m.cpuUs, noise: m.noise, rss: m.rss, errors: m.r.errors, errorDetail: [m.r.errorDetail, notH2].filter((x) => x !== undefined && x !== '').join('; ') || undefined }
      }))
      if (p.exitCode() !== undefined) throw new Error(`${t.name} exited during the run:\n${p.tail()}`)
    }
    return rows
  } catch (err) {
    const msg = (err as Error).message
    process.stderr.write(`   ${t.name} failed: ${msg}\n${p !== null ? `   ${p.name} output:\n${p.tail()}\n` : ''}`)
    const lines = msg.split('\n').filter((l) => l.trim() !== '')
    const short = lines.length > 1 ? `${lines[0]} ... ${lines[lines.length - 1]}` : lines[0]
    return kinds.map((kind) => rows.find((r) => r.kind === kind) ?? { kind, proxy: t.name, error: short })
  } finally {
    if (p !== null) await stopProc(p)
  }
}

async function udpRows (t: UdpTarget): Promise<Row[]> {
  const skip = t.skip()
  if (skip !== null) return UDP_RATES.map((offered) => ({ kind: 'udp', proxy: t.name, offered, skipped: skip }))
  process.stderr.write(`-- ${t.name} (UDP) ...\n`)
  let p: Proc | null = null
  const rows: Row[] = []
  try {
    p = await t.start()
    const target = `${t.host}:${t.port}`
    for (const rate of UDP_RATES) {
      const o = { target, flows: UDP_FLOWS, rate, size: UDP_SIZE, bind: UDP_CLIENT, cpu: LOAD_CPU }
      const proc = p
      rows.push(await quietest(async () => {
        if (WARMUP > 0) await runUdpLoad({ ...o, seconds: WARMUP, drainMs: 300 })
        const m = await measured(proc, () => runUdpLoad({ ...o, seconds: DURATION }), (r) => r.received)
        return {
          kind: 'udp', proxy: t.name, offered: rate, loadAvg: loadAverage(), ops: m.r.received, perSec: m.r.rate, p50: m.r.p50, p99: m.r.p99,
          cpuUs: m.cpuUs, noise: m.noise, rss: m.rss, sent: m.r.sent, lossPct: m.r.sent > 0 ? 100 * m.r.lost / m.r.sent : undefined, misdelivered: m.r.misdelivered, stale: m.r.stale
        }
      }))
      if (p !== null && p.exitCode() !== undefined) throw new Error(`${t.name} exited during the run:\n${p.tail()}`)
    }
    return rows
  } catch (err) {
    const msg = (err as Error).message
    process.stderr.write(`   ${t.name} failed: ${msg}\n${p !== null ? `   ${p.name} output:\n${p.tail()}\n` : ''}`)
    const first = msg.split('\n').find((l) => l.trim() !== '') ?? msg
    return UDP_RATES.map((offered) => rows.find((r) => r.offered === offered) ?? { kind: 'udp', proxy: t.name, offered, error: first })
  } finally {
    if (p !== null) await stopProc(p)
  }
}

/**
 * Measures a row up to 1 + --retries times while CPU 0 was busier than
 * --max-noise with other work (noise inflates CPU per op: 28.9 vs 41.9 us
 * for the same haproxy row at 7 % and 84 % noise); keeps the quietest.
 */
async function quietest (measure: () => Promise<Row>): Promise<Row> {
  let best: Row | null = null
  for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
    const row = { ...await measure(), attempts: attempt }
    if (best === null || (row.noise ?? 0) < (best.noise ?? 0)) best = row
    if ((row.noise ?? 0) <= MAX_NOISE) break
  }
  return best as Row
}

/** Resolves once the UDP port echoes one datagram (bounded). */
async function waitEcho (host: string, port: number, timeoutMs: number, proc: Proc | null): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (proc !== null && proc.exitCode() !== undefined) break
    try {
      const r = await runUdpLoad({ target: `${host}:${port}`, flows: 1, rate: 20, seconds: 0.1, bind: UDP_CLIENT, drainMs: 300 })
      if (r.received > 0) return
      last = `${r.sent} sent, none echoed`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${host}:${port}/udp did not echo within ${timeoutMs} ms (last: ${last})${proc !== null ? `\n${proc.name} output:\n${proc.tail()}` : ''}`)
}

function median (xs: number[]): number | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return v.length === 0 ? undefined : v.length % 2 === 1 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
}

const MEDIAN_FIELDS = ['ops', 'perSec', 'p50', 'p99', 'cpuUs', 'noise', 'loadAvg', 'rss', 'resumed', 'sent', 'lossPct'] as const
const rowKey = (r: Row): string => `${r.kind}|${r.proxy}|${r.offered ?? ''}`

/** The same row of every round -> one row of medians (errors and misdeliveries summed). */
function medianRows (rounds: Row[][]): Row[] {
  const keys = [...new Set(rounds.flat().map(rowKey))]
  return keys.map((key) => {
    const all = rounds.flat().filter((r) => rowKey(r) === key)
    const ok = all.filter((r) => r.skipped === undefined && r.error === undefined)
    if (ok.length === 0) return all[0]
    const out: Row = { ...ok[0] }
    for (const f of MEDIAN_FIELDS) out[f] = median(ok.map((r) => r[f]).filter((x): x is number => typeof x === 'number'))
    out.errors = ok.reduce((n, r) => n + (r.errors ?? 0), 0)
    out.misdelivered = ok.some((r) => r.misdelivered !== undefined) ? ok.reduce((n, r) => n + (r.misdelivered ?? 0), 0) : undefined
    return out
  })
}

/**
 * The targets: routemesh against a baseline, CPU per op. With several rounds
 * the ratio is the median of the per-round ratios (each round's two rows ran
 * minutes apart at most, under the same machine load), every round's shown.
 */
function verdicts (rows: Row[], rounds: Row[][]): { verdicts: Verdict[], ratios: Array<Record<string, unknown>> } {
  const findIn = (set: Row[], kind: Kind, proxy: string, offered?: number): Row | undefined =>
    set.find((r) => r.kind === kind && r.proxy === proxy && r.offered === offered && r.skipped === undefined && r.error === undefined)
  const find = (kind: Kind, proxy: string, offered?: number): Row | undefined => findIn(rows, kind, proxy, offered)
  const out: Verdict[] = []
  /** routemesh CPU / baseline CPU, per round; the median of them, or of the medians' ratio with one round. */
  const paired = (kind: Kind, base: string, offered?: number): { ratio: number, each: number[] } | null => {
    const each: number[] = []
    for (const set of rounds) {
      const a = findIn(set, kind, 'routemesh', offered)?.cpuUs
      const b = findIn(set, kind, base, offered)?.cpuUs
      if (a !== undefined && b !== undefined && b > 0) each.push(a / b)
    }
    const ratio = median(each)
    return ratio === undefined ? null : { ratio, each }
  }
  const roundsNote = (each: number[], invert: boolean): string =>
    each.length > 1 ? `; rounds ${each.map((x) => (invert ? 1 / x : x).toFixed(2)).join('/')}` : ''
  const cpuCheck = (target: string, kind: Kind, base: string, limit: number, offered?: number): void => {
    const a = find(kind, 'routemesh', offered)
    const b = find(kind, base, offered)
    const p = paired(kind, base, offered)
    if (a?.cpuUs === undefined || b?.cpuUs === undefined || p === null) {
      out.push({ target, kind: 'target', value: '-', limit: `<= ${limit}x`, status: 'SKIP', note: a === undefined ? 'routemesh row missing' : 'baseline row missing' })
      return
    }
    out.push({ target, kind: 'target', value: `${p.ratio.toFixed(2)}x (${fmt(a.cpuUs, 1)} vs ${fmt(b.cpuUs, 1)} us${roundsNote(p.each, false)})`, limit: `<= ${limit}x`, status: p.ratio <= limit ? 'PASS' : 'FAIL' })
  }
  const perCpuCheck = (target: string, kind: Kind, base: string, limit: number, offered?: number): void => {
    // ops per CPU-second = 1e6 / CPU us per op; the ratio is base CPU / routemesh CPU.
    const a = find(kind, 'routemesh', offered)
    const b = find(kind, base, offered)
    const p = paired(kind, base, offered)
    if (a?.cpuUs === undefined || b?.cpuUs === undefined || p === null) {
      out.push({ target, kind: 'target', value: '-', limit: `>= ${limit}x`, status: 'SKIP', note: a === undefined ? 'routemesh row missing' : 'baseline row missing' })
      return
    }
    const r = 1 / p.ratio
    out.push({ target, kind: 'target', value: `${r.toFixed(2)}x (${fmt(1e6 / a.cpuUs, 0)} vs ${fmt(1e6 / b.cpuUs, 0)} per CPU-s${roundsNote(p.each, true)})`, limit: `>= ${limit}x`, status: r >= limit ? 'PASS' : 'FAIL' })
  }
  if (ONLY.has('https')) {
    cpuCheck('HTTPS keep-alive CPU/req vs haproxy', 'https keep-alive', 'haproxy', 1.5)
    // wrk's reconnections resume about half the time (it SSL_clear()s and reuses its SSL object): a mix.
    perCpuCheck('TLS connections (wrk close, 1 request each) per CPU-s vs haproxy', 'https close', 'haproxy', 0.7)
    perCpuCheck('full handshakes (s_time -new) per CPU-s vs haproxy', 'handshake new', 'haproxy', 0.7)
    const res = find('handshake resumed', 'routemesh')
    out.push({
      target: 'session resumption by ticket (s_time -reuse)',
      kind: 'info',
      value: res?.resumed === undefined ? '-' : `${fmt(res.resumed * 100, 1)} % resumed (haproxy ${fmt((find('handshake resumed', 'haproxy')?.resumed ?? NaN) * 100, 1)} %)`,
      limit: 'report',
      status: res?.resumed === undefined ? 'SKIP' : res.resumed > 0.9 ? 'PASS' : 'FAIL'
    })
  }
  if (ONLY.has('h2')) {
    cpuCheck(`h2 CPU/req vs haproxy h2 (${H2_CONNS} conns x ${H2_STREAMS} streams)`, 'h2', 'haproxy', 2.0)
    // What node:http2 costs answering alone, against haproxy proxying: the part of the ratio no front on node:http2 can remove.
    const floor = find('h2', 'h2-floor')?.cpuUs
    const hap = find('h2', 'haproxy')?.cpuUs
    const mesh = find('h2', 'routemesh')?.cpuUs
    const report = (target: string, value: string | null): void => {
      out.push({ target, kind: 'info', value: value ?? '-', limit: 'report', status: value === null ? 'SKIP' : 'PASS' })
    }
    report('h2: node:http2 answering alone (no proxying) vs haproxy h2 proxying',
      floor === undefined || hap === undefined ? null : `${(floor / hap).toFixed(2)}x (${fmt(floor, 1)} vs ${fmt(hap, 1)} us)`)
    report('h2: routemesh CPU/req above the node:http2 floor (routing, forwarding over HTTP/1.1)',
      floor === undefined || mesh === undefined ? null : `${fmt(mesh - floor, 1)} us`)
  }
  if (ONLY.has('udp')) {
    for (const rate of UDP_RATES) {
      perCpuCheck(`UDP datagrams per CPU-s vs udp-relay (${rate}/s)`, 'udp', 'udp-relay', 1.0, rate)
      const m = find('udp', 'routemesh', rate)
      out.push({
        target: `UDP loss, misdelivered (${rate}/s, ${UDP_FLOWS} flows)`,
        kind: 'info',
        value: m === undefined ? '-' : `${fmt(m.lossPct, 3)} %, ${String(m.misdelivered ?? '-')}`,
        limit: 'report',
        status: m === undefined ? 'SKIP' : m.misdelivered === 0 ? 'PASS' : 'FAIL'
      })
    }
  }
  const ratios: Array<Record<string, unknown>> = []
  for (const r of rows) {
    if (r.proxy !== 'routemesh' || r.perSec === undefined) continue
    for (const b of rows) {
      if (b.proxy === 'routemesh' || b.kind !== r.kind || b.offered !== r.offered || b.perSec === undefined) continue
      ratios.push({
        kind: r.kind, offered: r.offered, baseline: b.proxy,
        cpu: r.cpuUs !== undefined && b.cpuUs !== undefined ? r.cpuUs / b.cpuUs : null,
        perSec: r.perSec / b.perSec,
        p99: r.p99 !== undefined && b.p99 !== undefined && b.p99 > 0 ? r.p99 / b.p99 : null
      })
    }
  }
  return { verdicts: out, ratios }
}

async function main (): Promise<void> {
  const started = new Date().toISOString()
  const notes: string[] = []
  if (tools.taskset === null) notes.push('taskset missing: nothing pinned, CPU figures are noisier')
  if (cpuCount() < 2) notes.push('fewer than 2 CPUs: proxy and load share a core')
  const wantTls = ONLY.has('https') || ONLY.has('h2')
  if (ONLY.has('https') && loadTool() === null) throw new Error('no load generator for the HTTPS rows: install wrk (apt-get install wrk)')
  if (ONLY.has('https') && loadTool() !== 'wrk') notes.push('HTTPS load from autocannon in this process (wrk missing)')

  const addrs = [...BACKENDS, `${MESH.advertise}:${MESH.https}`, MESH.admin, `${HAPROXY.host}:${HAPROXY.port}`, `${H2_FLOOR.host}:${H2_FLOOR.port}`]
  for (const a of addrs) await assertFree(a.split(':')[0], Number(a.split(':')[1]))

  const cert = await makeCert(tmpDir(), 'bench', CERT_HOST)
  let redis: PrivateRedis | null = null
  const meshWhy = meshMissing()
  let meshError: string | null = null
  if (meshWhy === null) {
    try {
      redis = await startRedis(LOAD_CPU)
      await writeRegistry(redis, cert)
    } catch (err) {
      meshError = `routemesh set-up failed: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`
    }
  }
  const meshSkip = (): string | null => meshWhy ?? meshError
  const startNode = (): Proc => {
    if (redis === null) throw new Error('no redis')
    return startMeshNode({ name: 'pbench', advertise: MESH.advertise, admin: MESH.admin, redisUrl: redis.url, cpu: PROXY_CPU })
  }

  process.stderr.write(`starting ${BACKENDS.length} HTTP backends and ${ECHOES.length} UDP echo sockets on CPU ${LOAD_CPU}; ${DURATION}s per row after ${WARMUP}s warm-up\n`)
  const backends = BACKENDS.map((b) => benchScript('backend/http.js', ['--listen', b], LOAD_CPU, `backend ${b}`))
  const echo = benchScript('backend/udp-echo.js', ECHOES.flatMap((e) => ['--listen', e]), LOAD_CPU, 'udp echo')
  for (const [i, b] of BACKENDS.entries()) await waitForPort(b.split(':')[0], Number(b.split(':')[1]), 10_000, backends[i])
  if (ONLY.has('udp')) for (const e of ECHOES) await waitEcho(e.split(':')[0], Number(e.split(':')[1]), 10_000, echo)

  const tlsTargets: TlsTarget[] = [
    {
      name: 'haproxy',
      host: HAPROXY.host,
      port: HAPROXY.port,
      skip: () => tools.haproxy === null ? 'haproxy not installed (apt-get install haproxy)' : null,
      start: async () => {
        const p = startProc('haproxy', tools.haproxy as string, ['-db', '-f', haproxyConfig(cert)], { cpu: PROXY_CPU })
        await waitForPort(HAPROXY.host, HAPROXY.port, 15_000, p)
        await waitServing(`https://${HAPROXY.host}:${HAPROXY.port}/`, 15_000, p)
        return p
      }
    },
    {
      name: 'h2-floor',
      host: H2_FLOOR.host,
      port: H2_FLOOR.port,
      only: ['h2'],
      skip: () => null,
      start: async () => {
        const p = benchScript('baselines/h2-floor.js', ['--listen', `${H2_FLOOR.host}:${H2_FLOOR.port}`, '--cert', cert.certFile, '--key', cert.keyFile], PROXY_CPU, 'h2-floor')
        await waitForPort(H2_FLOOR.host, H2_FLOOR.port, 10_000, p)
        return p
      }
    },
    {
      name: 'routemesh',
      host: MESH.advertise,
      port: MESH.https,
      skip: meshSkip,
      start: async () => {
        const p = startNode()
        await waitForPort(MESH.advertise, MESH.https, 30_000, p)
        await waitServing(`https://${MESH.advertise}:${MESH.https}/`, 15_000, p)
        return p
      }
    }
  ]
  const udpTargets: UdpTarget[] = [
    { name: 'direct', host: endpoint(ECHOES[0]).host, port: endpoint(ECHOES[0]).port, skip: () => null, start: async () => null, note: 'the client straight to one echo socket: no proxy' },
    ...[{ name: 'udp-relay', at: RELAY, extra: [] as string[] }, { name: 'udp-relay unconnected', at: RELAY_UNCONNECTED, extra: ['--unconnected'] }].map(({ name, at, extra }): UdpTarget => ({
      name,
      host: at.host,
      port: at.port,
      skip: () => null,
      start: async () => {
        const p = benchScript('baselines/udp-relay.js', ['--listen', `${at.host}:${at.port}`, ...ECHOES.flatMap((e) => ['--backend', e]), ...extra], PROXY_CPU, name)
        await waitEcho(at.host, at.port, 10_000, p)
        return p
      }
    })),
    {
      name: 'routemesh',
      host: MESH.advertise,
      port: MESH.udp,
      skip: meshSkip,
      start: async () => {
        const p = startNode()
        await waitEcho(MESH.advertise, MESH.udp, 30_000, p)
        return p
      }
    }
  ]

  const probes = new Map<string, TlsInfo>()
  const rounds: Row[][] = []
  for (let round = 0; round < ROUNDS; round++) {
    if (ROUNDS > 1) process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`)
    const order = <T>(xs: T[]): T[] => round % 2 === 0 ? xs : [...xs].reverse()
    const rows: Row[] = []
    if (wantTls) for (const t of order(tlsTargets)) rows.push(...await tlsRows(t, probes))
    if (ONLY.has('udp')) for (const t of order(udpTargets)) rows.push(...await udpRows(t))
    rounds.push(rows)
  }
  const rows = ROUNDS === 1 ? rounds[0] : medianRows(rounds)
  if (ROUNDS > 1) notes.push(`medians of ${ROUNDS} rounds (order reversed every other round; errors summed); every round's rows are in the JSON under "rounds"`)

  for (const b of [...backends, echo]) await stopProc(b)
  if (redis !== null) await redis.stop()

  // Same certificate and negotiation on both TLS proxies, or the comparison says so.
  for (const [name, info] of probes) {
    if (info.fingerprint256 !== cert.fingerprint256) notes.push(`${name} presented another certificate than the bench's (${info.fingerprint256.slice(0, 23)}...)`)
  }
  const infos = [...probes.values()].map((i) => `${i.protocol} ${i.cipher} ${i.group} alpn ${i.alpn}`)
  if (new Set(infos).size > 1) notes.push(`the TLS proxies negotiated differently: ${[...probes].map(([n, i]) => `${n}: ${i.protocol} ${i.cipher} ${i.group} alpn ${i.alpn}`).join('; ')}`)

  const { verdicts: v, ratios } = verdicts(rows, rounds)
  const out = process.stdout
  out.write(`\nprotocols  ${started}  node ${process.version}  CLK_TCK ${CLK_TCK}  ${DURATION}s/row, proxy on CPU ${PROXY_CPU}, load on CPU ${LOAD_CPU}\n`)
  for (const [name, i] of probes) out.write(`  ${name}: ${i.protocol} ${i.cipher} ${i.group}, ALPN ${i.alpn}, certificate ${i.fingerprint256 === cert.fingerprint256 ? 'the bench\'s' : 'OTHER'}\n`)
  const tlsTable = rows.filter((r) => r.kind !== 'udp')
  if (tlsTable.length > 0) {
    out.write(`\nHTTPS (wrk -t1 -c${CONNECTIONS}; close: one TLS connection per request), handshakes (openssl s_time x${HS_CLIENTS}, ${HS_SECONDS}s, one GET each), h2 (h2load -c${H2_CONNS} -m${H2_STREAMS})\n\n`)
    out.write(table(['row', 'proxy', 'ops/s', 'p50 ms', 'p99 ms', 'CPU us/op', 'ops/CPU-s', 'resumed %', 'noise %', 'RSS MB', 'errors'], tlsTable.map((r) => [
      r.kind, r.proxy, r.skipped !== undefined ? 'skipped' : r.error !== undefined ? 'error' : fmt(r.perSec, 0),
      ms(r.p50), ms(r.p99), fmt(r.cpuUs, 1), r.cpuUs === undefined ? '-' : fmt(1e6 / r.cpuUs, 0), r.resumed === undefined ? '-' : fmt(r.resumed * 100, 1),
      r.noise === undefined ? '-' : fmt(r.noise * 100, 0), mb(r.rss), r.errors === undefined ? '-' : String(r.errors)
    ])) + '\n')
  }
  const udpTable = rows.filter((r) => r.kind === 'udp')
  if (udpTable.length > 0) {
    out.write(`\nUDP echo (${UDP_FLOWS} flows, ${UDP_SIZE}-byte datagrams; CPU and rates per echoed datagram, i.e. per round trip through the proxy)\n\n`)
    out.write(table(['proxy', 'offered/s', 'echoed/s', 'loss %', 'misdeliv.', 'p50 ms', 'p99 ms', 'CPU us/dgram', 'dgrams/CPU-s', 'noise %', 'RSS MB'], udpTable.map((r) => [
      r.proxy, fmt(r.offered, 0), r.skipped !== undefined ? 'skipped' : r.error !== undefined ? 'error' : fmt(r.perSec, 0),
      fmt(r.lossPct, 3), r.misdelivered === undefined ? '-' : String(r.misdelivered), ms(r.p50), ms(r.p99), fmt(r.cpuUs, 2),
      r.cpuUs === undefined ? '-' : fmt(1e6 / r.cpuUs, 0), r.noise === undefined ? '-' : fmt(r.noise * 100, 0), mb(r.rss)
    ])) + '\n')
  }
  const seen = new Set<string>()
  for (const r of rows.filter((x) => x.skipped !== undefined || x.error !== undefined || x.errorDetail !== undefined)) {
    const text = `${r.proxy} ${r.kind}: ${r.skipped ?? r.error ?? r.errorDetail ?? ''}`
    if (!seen.has(text)) { seen.add(text); out.write(`  note: ${text}\n`) }
  }
  const noisy = rows.filter((r) => (r.noise ?? 0) > 0.1)
  if (noisy.length > 0) {
    notes.push(`CPU ${PROXY_CPU} was not quiet: other processes used > 10% of it during ${noisy.length} measured run(s) (noise % column; 1-min load average up to ` +
      `${fmt(Math.max(...rows.map((r) => r.loadAvg ?? 0)), 1)} on ${cpuCount()} CPUs). Latency figures are unreliable then; CPU per op holds up better.`)
  }
  for (const n of notes) out.write(`  note: ${n}\n`)
  if (ratios.length > 0) {
    out.write('\nroutemesh / baseline (same row; < 1 is better for CPU and p99, > 1 for ops/s)\n\n')
    out.write(table(['row', 'baseline', 'CPU', 'ops/s', 'p99'], ratios.map((r) => [
      `${String(r.kind)}${r.offered !== undefined ? ` ${String(r.offered)}/s` : ''}`, String(r.baseline),
      fmt(r.cpu as number | null, 2), fmt(r.perSec as number, 2), fmt(r.p99 as number | null, 2)
    ])) + '\n')
  }
  out.write('\ntargets (issue 12)\n\n' + verdictTable(v) + '\n')
  const file = saveResults('protocols', {
    kind: 'protocols',
    started,
    machine: { node: process.version, cpus: cpuCount(), clkTck: CLK_TCK, load: loadTool(), h2load: tlsTools.h2load !== null, taskset: tools.taskset !== null },
    options: {
      duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, handshakeSeconds: HS_SECONDS, handshakeClients: HS_CLIENTS,
      h2Connections: H2_CONNS, h2Streams: H2_STREAMS, udpFlows: UDP_FLOWS, udpRates: UDP_RATES, udpSize: UDP_SIZE,
      backends: BACKENDS, echoes: ECHOES, proxyCpu: PROXY_CPU, loadCpu: LOAD_CPU
    },
    tls: Object.fromEntries(probes),
    notes,
    rows,
    ratios,
    verdicts: v,
    ...(ROUNDS > 1 ? { rounds } : {})
  })
  out.write(`\nresults: ${path.relative(ROOT, file)}\n`)
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`bench:protocols failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
