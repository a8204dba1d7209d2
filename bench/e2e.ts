/**
 * End-to-end proxy benchmark: every proxy in ONE run, same three backends,
 * same load. See bench/README.md for how to read it.
 *
 *   npm run bench:e2e -- [--duration 5] [--warmup 1] [--cold 2] [--connections 64]
 *                        [--only direct,undici-dispatch,...] [--no-close] [--no-workers] [--rounds 1]
 *
 * --rounds N: every proxy N times, the rounds alternating between proxies
 * (A B C A B C ...), each run from a fresh start; the table, ratios and
 * targets use the median of each figure (errors: the sum).
 *
 * Layout (all loopback): backends 127.0.0.51-53:9001 (one process each) and
 * wrk on CPU 1; the proxy under test alone on CPU 0 (taskset when present).
 * Per proxy: start it fresh, cold run (no warm-up), warm-up, keep-alive run,
 * warm-up, connection-per-request run; CPU from /proc/PID/stat of its
 * process tree before/after each measured run.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from './common/args'
import { fmt, mb, ms, saveResults, table, verdictTable, type Verdict } from './common/format'
import { runLoad, loadTool, type LoadResult } from './common/load'
import { meshCli, meshMissing, startMeshNode, waitServing, ROOT } from './common/mesh'
import { assertFree, CLK_TCK, cpuBusyMicros, cpuCount, cpuMicros, loadAverage, rssBytes, sleep, startProc, stopProc, tools, tree, waitForPort, type Proc } from './common/procs'
import { startRedis, type PrivateRedis } from './common/redis'

const args = parseArgs()
const DURATION = args.num('duration', 5)
const WARMUP = args.num('warmup', 1)
const COLD = args.num('cold', 2)
const CONNECTIONS = args.num('connections', 64)
const ONLY = args.has('only') ? new Set(args.get('only', '').split(',')) : null
const WITH_CLOSE = !args.has('no-close')
const WITH_WORKERS = !args.has('no-workers')
const ROUNDS = Math.max(1, Math.floor(args.num('rounds', 1)))

const PROXY_CPU = '0'
const LOAD_CPU = '1'
const BACKENDS = ['127.0.0.51:9001', '127.0.0.52:9001', '127.0.0.53:9001']
const DIST = path.join(ROOT, 'dist', 'bench')
const NGINX_STREAM = '/usr/lib/nginx/modules/ngx_stream_module.so'

type Layer = 'L7' | 'L4'
type Mode = 'keep-alive' | 'close'

interface Target {
  name: string
  layer: Layer
  host: string
  port: number
  /** Why the row is skipped (tool missing...), or null. */
  skip: () => string | null
  /** Starts the proxy; resolves once it serves. */
  start: () => Promise<Proc>
  note?: string
  /** false when the proxy is not confined to the proxy CPU (the noise column is then meaningless). */
  pinned?: boolean
}

interface Row {
  name: string
  layer: Layer
  mode: Mode
  skipped?: string
  error?: string
  note?: string
  rps?: number
  requests?: number
  p50?: number
  p99?: number
  max?: number
  coldP99?: number
  coldMax?: number
  cpuUsPerReq?: number
  /** Share of CPU 0 used by anything but the proxy under test during the measured run (noise). */
  otherOnProxyCpu?: number
  loadAvg?: number
  rss?: number
  errors?: number
  errorDetail?: string
}

const node = (script: string, argv: string[], cpu = PROXY_CPU, name = script): Proc =>
  startProc(name, process.execPath, [path.join(DIST, script), ...argv], { cpu })

async function startAndWait (p: Proc, host: string, port: number): Promise<Proc> {
  await waitForPort(host, port, 15_000, p)
  await waitServing(`http://${host}:${port}/`, 15_000, p)
  return p
}

const backendFlags = BACKENDS.flatMap((b) => ['--backend', b])

let tmp = ''
function tmpDir (): string {
  if (tmp === '') {
    const dir = mkdtempSync(path.join(tmpdir(), 'routemesh-e2e-'))
    // After killAll (registered first): nginx may still hold files until it is gone.
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    tmp = dir
  }
  return tmp
}

function nginxConfig (host: string): string {
  const dir = tmpDir()
  const upstream = BACKENDS.map((b) => `    server ${b};`).join('\n')
  const stream = existsSync(NGINX_STREAM)
    ? `stream {\n  upstream s4 {\n${upstream}\n  }\n  server {\n    listen ${host}:7000;\n    proxy_pass s4;\n  }\n}\n`
    : ''
  const conf = `${stream !== '' ? `load_module ${NGINX_STREAM};\n` : ''}worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  upstream b7 {
${upstream}
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen ${host}:8080;
    location / {
      proxy_pass http://b7;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
${stream}`
  const file = path.join(dir, 'nginx.conf')
  writeFileSync(file, conf)
  return file
}

function haproxyConfig (host: string): string {
  const servers = BACKENDS.map((b, i) => `  server s${i + 1} ${b}`).join('\n')
  const conf = `global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 65s
  timeout server 65s
  option http-keep-alive
frontend f7
  bind ${host}:8080
  option forwardfor
  default_backend b7
backend b7
  balance roundrobin
  http-reuse always
${servers}
frontend f4
  mode tcp
  bind ${host}:7000
  default_backend b4
backend b4
  mode tcp
  balance roundrobin
${servers}
`
  const file = path.join(tmpDir(), 'haproxy.cfg')
  writeFileSync(file, conf)
  return file
}

// --- routemesh: one private Redis, services created once with the CLI, a fresh node per row.
const MESH = { advertise: '127.0.0.50', admin: '127.0.0.50:9180' }
let redis: PrivateRedis | null = null
let meshSetupError: string | null = null

async function meshSetup (): Promise<string | null> {
  const missing = meshMissing()
  if (missing !== null) return missing
  if (meshSetupError !== null) return meshSetupError
  if (redis !== null) return null
  try {
    redis = await startRedis(LOAD_CPU)
    const eps = BACKENDS.flatMap((b) => ['--endpoint', b])
    await meshCli(['init', '--registry-only'], redis.url) // found the cluster (its epoch) alone: the bench starts its nodes itself
    await meshCli(['service', 'create', '--name', 'web', '--publish', '8080:80', ...eps], redis.url)
    await meshCli(['service', 'create', '--name', 'tcp', '--publish', '7000:7000/tcp', ...eps], redis.url)
    return null
  } catch (err) {
    meshSetupError = `routemesh set-up failed: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`
    return meshSetupError
  }
}

function meshTarget (layer: Layer, workers: number): Target {
  const port = layer === 'L7' ? 8080 : 7000
  return {
    name: workers === 1 ? 'routemesh' : `routemesh --workers ${workers}`,
    layer,
    host: MESH.advertise,
    port,
    // With 2 workers on a 2-core box the workers share CPU 1 with wrk and the backends.
    note: workers > 1 ? 'workers pinned to CPUs 0-1 (shared with wrk + backends)' : undefined,
    pinned: workers === 1,
    skip: () => meshMissing(),
    start: async () => {
      const why = await meshSetup()
      if (why !== null || redis === null) throw new Error(why ?? 'no redis')
      const p = startMeshNode({
        name: 'b1', advertise: MESH.advertise, admin: MESH.admin, redisUrl: redis.url, workers,
        cpu: workers > 1 ? '0-1' : PROXY_CPU
      })
      return startAndWait(p, MESH.advertise, port)
    }
  }
}

const TARGETS: Target[] = [
  {
    name: 'direct',
    layer: 'L7',
    host: '127.0.0.59',
    port: 9001,
    note: 'a 4th copy of the backend, alone on CPU 0: what http.createServer costs before any proxying',
    skip: () => null,
    start: () => startAndWait(node('backend/http.js', ['--listen', '127.0.0.59:9001'], PROXY_CPU, 'direct backend'), '127.0.0.59', 9001)
  },
  {
    name: 'http-proxy',
    layer: 'L7',
    host: '127.0.0.61',
    port: 8080,
    skip: () => null,
    start: () => startAndWait(node('baselines/http-proxy.js', ['--listen', '127.0.0.61:8080', ...backendFlags]), '127.0.0.61', 8080)
  },
  {
    name: 'undici-dispatch',
    layer: 'L7',
    host: '127.0.0.62',
    port: 8080,
    skip: () => null,
    start: () => startAndWait(node('baselines/undici-dispatch.js', ['--listen', '127.0.0.62:8080', ...backendFlags]), '127.0.0.62', 8080)
  },
  {
    name: 'net-pipe',
    layer: 'L4',
    host: '127.0.0.63',
    port: 7000,
    skip: () => null,
    start: () => startAndWait(node('baselines/net-pipe.js', ['--listen', '127.0.0.63:7000', ...backendFlags]), '127.0.0.63', 7000)
  },
  ...(['L7', 'L4'] as const).map((layer): Target => ({
    name: 'nginx',
    layer,
    host: '127.0.0.64',
    port: layer === 'L7' ? 8080 : 7000,
    skip: () => tools.nginx === null
      ? 'nginx not installed (apt-get install nginx libnginx-mod-stream)'
      : layer === 'L4' && !existsSync(NGINX_STREAM) ? `nginx stream module missing (${NGINX_STREAM}; apt-get install libnginx-mod-stream)` : null,
    start: () => {
      const conf = nginxConfig('127.0.0.64')
      const p = startProc('nginx', tools.nginx as string, ['-p', tmpDir(), '-c', conf, '-e', path.join(tmpDir(), 'nginx-error.log')], { cpu: PROXY_CPU })
      return startAndWait(p, '127.0.0.64', layer === 'L7' ? 8080 : 7000)
    }
  })),
  ...(['L7', 'L4'] as const).map((layer): Target => ({
    name: 'haproxy',
    layer,
    host: '127.0.0.65',
    port: layer === 'L7' ? 8080 : 7000,
    skip: () => tools.haproxy === null ? 'haproxy not installed (apt-get install haproxy)' : null,
    start: () => {
      const p = startProc('haproxy', tools.haproxy as string, ['-db', '-f', haproxyConfig('127.0.0.65')], { cpu: PROXY_CPU })
      return startAndWait(p, '127.0.0.65', layer === 'L7' ? 8080 : 7000)
    }
  })),
  meshTarget('L7', 1),
  meshTarget('L4', 1),
  ...(WITH_WORKERS ? [meshTarget('L7', 2)] : [])
]

const load = (t: Target, seconds: number, close: boolean): Promise<LoadResult> =>
  runLoad({ url: `http://${t.host}:${t.port}/`, connections: CONNECTIONS, seconds, close, cpu: LOAD_CPU })

async function measure (t: Target, p: Proc, close: boolean): Promise<Partial<Row>> {
  if (WARMUP > 0) await load(t, WARMUP, close)
  const pids = tree(p.pid)
  const before = cpuMicros(pids)
  const busyBefore = cpuBusyMicros(Number(PROXY_CPU))
  const t0 = process.hrtime.bigint()
  const r = await load(t, DURATION, close)
  // Re-read the tree: workers may have been (re)spawned meanwhile; a pid gone mid-run loses its share.
  const after = cpuMicros(tree(p.pid))
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000
  const other = (cpuBusyMicros(Number(PROXY_CPU)) - busyBefore - (t.pinned === false ? 0 : after - before)) / wallUs
  return {
    rps: r.rps,
    requests: r.requests,
    p50: r.p50,
    p99: r.p99,
    max: r.max,
    cpuUsPerReq: r.requests > 0 ? (after - before) / r.requests : undefined,
    otherOnProxyCpu: t.pinned === false ? undefined : Math.max(0, other),
    loadAvg: loadAverage(),
    rss: rssBytes(tree(p.pid)),
    errors: r.errors,
    errorDetail: r.errorDetail !== '' ? r.errorDetail : undefined
  }
}

async function runTarget (t: Target): Promise<Row[]> {
  const base = { name: t.name, layer: t.layer, note: t.note }
  const modes: Mode[] = WITH_CLOSE ? ['keep-alive', 'close'] : ['keep-alive']
  const skip = t.skip()
  if (skip !== null) return modes.map((mode) => ({ ...base, mode, skipped: skip }))
  process.stderr.write(`-- ${t.name} ${t.layer} ...\n`)
  let p: Proc | null = null
  try {
    p = await t.start()
    // Cold: the first seconds after start, no warm-up (JIT, pools, first table read).
    const cold = COLD > 0 ? await load(t, COLD, false) : null
    const rows: Row[] = []
    for (const mode of modes) {
      const m = await measure(t, p, mode === 'close')
      rows.push({ ...base, mode, ...m, coldP99: mode === 'keep-alive' ? cold?.p99 : undefined, coldMax: mode === 'keep-alive' ? cold?.max : undefined })
    }
    if (p.exitCode() !== undefined) throw new Error(`${t.name} exited during the run:\n${p.tail()}`)
    return rows
  } catch (err) {
    const msg = (err as Error).message
    const exited = p !== null && p.exitCode() !== undefined ? ` (${t.name} exited with ${String(p.exitCode())})` : ''
    process.stderr.write(`   ${t.name} ${t.layer} failed${exited}: ${msg}\n${p !== null ? `   ${p.name} output:\n${p.tail()}\n` : ''}`)
    const lines = msg.split('\n').filter((l) => l.trim() !== '')
    const short = lines.length > 1 ? `${lines[0]} ... ${lines[lines.length - 1]}` : lines[0]
    return modes.map((mode) => ({ ...base, mode, error: short + exited }))
  } finally {
    if (p !== null) await stopProc(p)
  }
}

function ratio (a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b
}

function verdicts (rows: Row[]): { verdicts: Verdict[], ratios: Array<Record<string, unknown>> } {
  const find = (name: string, layer: Layer, mode: Mode = 'keep-alive'): Row | undefined =>
    rows.find((r) => r.name === name && r.layer === layer && r.mode === mode && r.skipped === undefined && r.error === undefined)
  const out: Verdict[] = []
  const check = (target: string, kind: Verdict['kind'], a: Row | undefined, b: Row | undefined, field: 'cpuUsPerReq' | 'p99', limit: number): void => {
    const missing = a === undefined ? 'routemesh row missing' : b === undefined ? 'baseline row missing' : undefined
    const r = ratio(a?.[field], b?.[field])
    if (missing !== undefined || r === null) {
      out.push({ target, kind, value: '-', limit: `<= ${limit}x`, status: 'SKIP', note: missing ?? 'no data' })
      return
    }
    const show = (x: number | undefined): string => field === 'p99' ? `${ms(x)} ms` : `${fmt(x, 1)} us/req`
    out.push({ target, kind, value: `${r.toFixed(2)}x (${show(a?.[field])} vs ${show(b?.[field])})`, limit: `<= ${limit}x`, status: r <= limit ? 'PASS' : 'FAIL' })
  }
  const m7 = find('routemesh', 'L7')
  const m4 = find('routemesh', 'L4')
  check('L7 CPU/req vs undici-dispatch', 'target', m7, find('undici-dispatch', 'L7'), 'cpuUsPerReq', 1.0)
  check('L7 CPU/req vs http-proxy', 'target', m7, find('http-proxy', 'L7'), 'cpuUsPerReq', 0.5)
  check('L7 CPU/req vs haproxy', 'aim', m7, find('haproxy', 'L7'), 'cpuUsPerReq', 1.5)
  check('L4 CPU/req vs net-pipe', 'target', m4, find('net-pipe', 'L4'), 'cpuUsPerReq', 1.1)
  check('L4 CPU/req vs haproxy', 'aim', m4, find('haproxy', 'L4'), 'cpuUsPerReq', 1.3)
  check(`L7 warm p99 (${CONNECTIONS} conns) vs haproxy`, 'target', m7, find('haproxy', 'L7'), 'p99', 3.0)
  const w2 = find('routemesh --workers 2', 'L7')
  out.push({
    target: 'req/s with --workers 1 / 2 (L7 keep-alive)',
    kind: 'info',
    value: m7 === undefined && w2 === undefined ? '-' : `${fmt(m7?.rps, 0)} / ${fmt(w2?.rps, 0)}`,
    limit: 'report',
    status: m7 !== undefined && w2 !== undefined ? 'PASS' : 'SKIP'
  })
  out.push({
    target: 'L7 cold p99 (first seconds, no warm-up)',
    kind: 'info',
    value: m7?.coldP99 !== undefined ? `${ms(m7.coldP99)} ms (haproxy ${ms(find('haproxy', 'L7')?.coldP99)} ms)` : '-',
    limit: 'report, shrink',
    status: m7?.coldP99 !== undefined ? 'PASS' : 'SKIP'
  })

  // routemesh / each baseline, same layer and mode.
  const ratios: Array<Record<string, unknown>> = []
  for (const r of rows) {
    if (!r.name.startsWith('routemesh') || r.rps === undefined) continue
    for (const b of rows) {
      if (b.name.startsWith('routemesh') || b.layer !== r.layer || b.mode !== r.mode || b.rps === undefined) continue
      ratios.push({
        routemesh: r.name, layer: r.layer, mode: r.mode, baseline: b.name,
        cpu: ratio(r.cpuUsPerReq, b.cpuUsPerReq), rps: ratio(r.rps, b.rps), p99: ratio(r.p99, b.p99)
      })
    }
  }
  return { verdicts: out, ratios }
}

async function main (): Promise<void> {
  const tool = loadTool()
  if (tool === null) throw new Error('no load generator: install wrk (apt-get install wrk)')
  const started = new Date().toISOString()
  const selected = TARGETS.filter((t) => ONLY === null || ONLY.has(t.name) || ONLY.has(`${t.name}-${t.layer}`))
  const notes: string[] = []
  if (tools.taskset === null) notes.push('taskset missing: nothing pinned, CPU figures are noisier')
  if (cpuCount() < 2) notes.push('fewer than 2 CPUs: proxy and load share a core')
  if (tool !== 'wrk') notes.push('load from autocannon in this process (wrk missing)')

  for (const a of [...BACKENDS, ...selected.map((t) => `${t.host}:${t.port}`)]) await assertFree(a.split(':')[0], Number(a.split(':')[1]))
  process.stderr.write(`starting ${BACKENDS.length} backends on CPU ${LOAD_CPU}; ${DURATION}s per row after ${WARMUP}s warm-up, cold ${COLD}s, ${CONNECTIONS} connections\n`)
  const backends = BACKENDS.map((b) => node('backend/http.js', ['--listen', b], LOAD_CPU, `backend ${b}`))
  for (const [i, b] of BACKENDS.entries()) {
    const [host, port] = b.split(':')
    await waitForPort(host, Number(port), 10_000, backends[i])
  }
  await sleep(200)
  for (const b of backends) if (b.exitCode() !== undefined) throw new Error(`${b.name} exited:\n${b.tail()}`)

  const rounds: Row[][] = []
  for (let round = 0; round < ROUNDS; round++) {
    if (ROUNDS > 1) process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`)
    const rows: Row[] = []
    for (const t of selected) rows.push(...await runTarget(t))
    rounds.push(rows)
  }
  const rows = ROUNDS === 1 ? rounds[0] : medianRows(rounds)
  if (ROUNDS > 1) notes.push(`medians of ${ROUNDS} alternating rounds (errors summed); every round's rows are in the JSON under "rounds"`)

  for (const b of backends) await stopProc(b)
  if (redis !== null) await redis.stop()

  const { verdicts: v, ratios } = verdicts(rows)
  const tableRows = rows.map((r) => [
    `${r.name} ${r.layer}`, r.mode,
    r.skipped !== undefined ? 'skipped' : r.error !== undefined ? 'error' : fmt(r.rps, 0),
    ms(r.p50), ms(r.p99), ms(r.coldP99), fmt(r.cpuUsPerReq, 1), r.otherOnProxyCpu === undefined ? '-' : fmt(r.otherOnProxyCpu * 100, 0), mb(r.rss), r.errors === undefined ? '-' : String(r.errors)
  ])
  process.stdout.write(`\nrouting-mesh e2e  ${started}  node ${process.version}  load ${tool}  CLK_TCK ${CLK_TCK}  ${DURATION}s/row, ${CONNECTIONS} conns\n\n`)
  process.stdout.write(table(['proxy', 'mode', 'req/s', 'p50 ms', 'p99 ms', 'cold p99', 'CPU us/req', 'noise %', 'RSS MB', 'errors'], tableRows) + '\n')
  const rowNotes = rows.filter((r) => r.skipped !== undefined || r.error !== undefined || r.errorDetail !== undefined)
  const seen = new Set<string>()
  for (const r of rowNotes) {
    const text = `${r.name} ${r.layer}: ${r.skipped ?? r.error ?? r.errorDetail ?? ''}`
    if (!seen.has(text)) { seen.add(text); process.stdout.write(`  note: ${text}\n`) }
  }
  const noisy = rows.filter((r) => (r.otherOnProxyCpu ?? 0) > 0.1)
  if (noisy.length > 0) {
    notes.push(`CPU ${PROXY_CPU} was not quiet: other processes used > 10% of it during ${noisy.length} measured run(s) ` +
      `(noise % column; 1-min load average up to ${fmt(Math.max(...rows.map((r) => r.loadAvg ?? 0)), 1)} on ${cpuCount()} CPUs). ` +
      'Latency figures (p50/p99) are unreliable then; CPU us/req holds up better. Rerun on a quiet machine.')
  }
  for (const n of notes) process.stdout.write(`  note: ${n}\n`)

  if (ratios.length > 0) {
    process.stdout.write('\nroutemesh / baseline (same layer and mode; < 1 is better for CPU and p99, > 1 for req/s)\n\n')
    process.stdout.write(table(['routemesh', 'mode', 'baseline', 'CPU', 'req/s', 'p99'], ratios.map((r) => [
      `${String(r.routemesh)} ${String(r.layer)}`, String(r.mode), String(r.baseline),
      fmt(r.cpu as number | null, 2), fmt(r.rps as number | null, 2), fmt(r.p99 as number | null, 2)
    ])) + '\n')
  }
  process.stdout.write('\ntargets (issue 5)\n\n' + verdictTable(v) + '\n')
  const file = saveResults('e2e', {
    kind: 'e2e',
    started,
    machine: { node: process.version, cpus: cpuCount(), clkTck: CLK_TCK, load: tool, taskset: tools.taskset !== null },
    options: { duration: DURATION, warmup: WARMUP, cold: COLD, connections: CONNECTIONS, backends: BACKENDS, proxyCpu: PROXY_CPU, loadCpu: LOAD_CPU },
    notes,
    rows,
    ratios,
    verdicts: v,
    ...(ROUNDS > 1 ? { rounds } : {})
  })
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`)
}

const MEDIAN_FIELDS = ['rps', 'requests', 'p50', 'p99', 'max', 'coldP99', 'coldMax', 'cpuUsPerReq', 'otherOnProxyCpu', 'loadAvg', 'rss'] as const

/** Row i of every round (same proxy, layer and mode) -> one row of medians. */
function medianRows (rounds: Row[][]): Row[] {
  return rounds[0].map((first, i) => {
    const same = rounds.map((r) => r[i]).filter((r) => r !== undefined && r.skipped === undefined && r.error === undefined)
    if (same.length === 0) return first
    const out: Row = { ...same[0] }
    for (const f of MEDIAN_FIELDS) {
      const v = same.map((r) => r[f]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
      out[f] = v.length === 0 ? undefined : v.length % 2 === 1 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
    }
    out.errors = same.reduce((n, r) => n + (r.errors ?? 0), 0)
    return out
  })
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`bench:e2e failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
