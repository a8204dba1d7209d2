/**
 * /metrics at scale: how long one scrape of a node publishing N busy services
 * takes to render, and the longest the event loop is held by it.
 *
 *   npm run bench:metrics -- [--services 1000] [--endpoints 3] [--scrapes 30] [--page-only]
 *
 * In-process, no Redis and no sockets: a routing table built by the real
 * TableBuilder from a synthetic registry view (N services, each its own
 * published HTTP port, E running tasks on a live node), every endpoint and
 * route "busy" (2xx, 4xx and 5xx counted, durations over every bucket,
 * upstream errors of two kinds). Rendered by the node's MetricsPage (what
 * /metrics answers) and, for comparison, by prom-client from the same
 * definitions (what the node did before; what --workers workers still use).
 *
 * Reported per renderer: the first scrape (it makes the label strings of
 * every route), then over the scrapes after a short warm-up the median and
 * max render time, the process's CPU time per scrape (GC included; less
 * sensitive than wall time to other work on a shared machine), and the
 * event loop's gaps while they ran (a 1 ms interval timer's time between
 * two runs: p99 and max; on a machine shared with other work the max also
 * catches the scheduler taking the CPU away, the p99 less so).
 */
import { performance } from 'node:perf_hooks'
import { Registry } from 'prom-client'
import { TableBuilder } from '../lib/table/table-builder'
import { TableSource } from '../lib/table/table-source'
import type { ClusterState, RegistryFeed } from '../lib/registry/feed'
import type { ListenerSet } from '../lib/proxy/listeners'
import type { PassiveHealth } from '../lib/balancer/passive-health'
import { SCHEMA_VERSION, type ServiceSpec, type TaskRecord } from '../lib/registry/types'
import { addDataPlaneMetrics, dataPlaneMetrics, type DataPlaneSources } from '../lib/metrics/node-metrics'
import { MetricsPage } from '../lib/metrics/metrics-page'
import { ScrapeViews } from '../lib/metrics/scrape-view'
import { EventEmitter } from 'node:events'
import { parseArgs } from './common/args'
import { fmt, saveResults, table } from './common/format'

const args = parseArgs()
const SERVICES = args.num('services', 1000)
const ENDPOINTS = args.num('endpoints', 3)
const SCRAPES = args.num('scrapes', 30)
const LIMIT_MS = 20

function syntheticState (): ClusterState {
  const now = Date.now()
  const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 0 }
  const services = new Map<string, ServiceSpec>()
  const tasks = new Map<string, TaskRecord>()
  for (let i = 0; i < SERVICES; i++) {
    const id = `svc${i}`
    services.set(`web${i}`, {
      v: SCHEMA_VERSION, id, name: `web${i}`, mode: 'replicated', replicas: ENDPOINTS,
      ports: [{ published: 20000 + i, target: 80, protocol: 'http' }], hosts: [], health: null,
      command: ['mesh', 'whoami'], env: {}, update, rollback: update, restart: { condition: 'any', delay: 0, maxAttempts: 0 },
      stopGrace: 1000, version: 1, updateState: '', updateMessage: '', createdAt: now + i, updatedAt: now, previous: null
    })
    for (let e = 0; e < ENDPOINTS; e++) {
      const tid = `t${i}x${e}`
      tasks.set(tid, {
        v: SCHEMA_VERSION, id: tid, serviceId: id, service: `web${i}`, slot: e + 1, node: 'n1', static: false,
        host: `127.0.${e}.${1 + (i % 250)}`, port: 30000 + i, desired: 'running', state: 'running', error: '',
        specVersion: 1, createdAt: now, stateAt: now, pid: 1, exitCode: null, restarts: 0
      })
    }
  }
  return { epoch: 'bench', rev: 1, services, tasks, health: new Map(), nodes: new Map(), alive: new Set(['n1']) }
}

function busy (tables: TableSource): void {
  let k = 0
  for (const entry of tables.current().ports.values()) {
    for (const r of entry.routes) {
      for (const ep of r.balancer.endpoints) { ep.responses[2] = 1_000_000 + k++; ep.responses[4] = 1200; ep.responses[5] = 17 }
      for (let i = 0; i < 200; i++) r.stats.duration.observe(0.0002 * 1.05 ** i)
      r.stats.upstreamErrors[0] = 3
      r.stats.upstreamErrors[2] = 5
      r.stats.generated[5] = 2
    }
  }
}

async function measure (render: () => Promise<string | Buffer>): Promise<{ firstMs: number, medianMs: number, maxMs: number, cpuMs: number, blockedMs: number, blockedP99Ms: number, bytes: number }> {
  // The first scrape after a table swap makes the label strings of new routes: timed apart, then a few untimed.
  const f0 = performance.now()
  await render()
  const firstMs = performance.now() - f0
  for (let i = 0; i < 3; i++) await render()
  const times: number[] = []
  let bytes = 0
  let gaps: number[] = []
  let last = performance.now()
  const ticker = setInterval(() => {
    const now = performance.now()
    gaps.push(now - last)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  gaps = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now()
    bytes = (await render()).length
    times.push(performance.now() - t0)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const cpu = process.cpuUsage(cpu0)
  clearInterval(ticker)
  times.sort((a, b) => a - b)
  gaps.sort((a, b) => a - b)
  return { firstMs, medianMs: times[Math.floor(times.length / 2)], maxMs: times[times.length - 1], cpuMs: (cpu.user + cpu.system) / 1000 / SCRAPES, blockedMs: gaps[gaps.length - 1], blockedP99Ms: gaps[Math.floor(gaps.length * 0.99)], bytes }
}

async function main (): Promise<void> {
  const feed = Object.assign(new EventEmitter(), { state: syntheticState(), up: true, lastSyncAt: Date.now(), fullReads: 1 }) as unknown as RegistryFeed
  const tables = new TableSource(feed, new TableBuilder({ connectTimeout: 1000, headersTimeout: 1000, bodyTimeout: 1000, keepAliveTimeout: 1000, connections: 1, maxHeaderSize: 16384, maxQueued: 0, queueTimeout: 1000 }))
  tables.refresh('bench')
  busy(tables)
  const listeners = { listeners: new Map(), limit: { active: 0, refused: 0 }, bindFailures: 0 } as unknown as ListenerSet
  const src: DataPlaneSources = { feed, tables, listeners, passive: { ejections: 0 } as unknown as PassiveHealth }

  const page = new MetricsPage('n1', dataPlaneMetrics(src), new ScrapeViews(tables), new Registry(), { measure: true })
  const prom = new Registry()
  prom.setDefaultLabels({ node: 'n1' })
  addDataPlaneMetrics(prom, src)

  const rows: string[][] = []
  const results: Record<string, unknown> = {}
  const renderers: Array<[string, () => Promise<string | Buffer>]> = [['MetricsPage (the node)', async () => await page.render()]]
  if (!args.has('page-only')) renderers.push(['prom-client (workers; before)', async () => await prom.metrics()])
  // The page's own account of its longest stretch between two yields, per scrape (the first one is the cold scrape).
  const costs: Array<{ stretches: number, longestCpuMs: number }> = []
  const timed = async (): Promise<Buffer> => {
    const out = await page.render()
    costs.push(page.lastRender)
    return out
  }
  renderers[0][1] = timed
  for (const [name, render] of renderers) {
    const r = await measure(render)
    results[name] = r
    rows.push([name, fmt(r.firstMs, 1), fmt(r.medianMs, 1), fmt(r.maxMs, 1), fmt(r.cpuMs, 1), fmt(r.blockedP99Ms, 1), fmt(r.blockedMs, 1), fmt(r.bytes / 1024, 0)])
  }
  console.log(`/metrics, ${SERVICES} busy services x ${ENDPOINTS} endpoints, ${SCRAPES} scrapes each\n`)
  console.log(table(['renderer', 'first ms', 'median ms', 'max ms', 'CPU ms / scrape', 'loop gap p99 ms', 'loop gap max ms', 'KiB'], rows))
  const own = results['MetricsPage (the node)'] as { medianMs: number, blockedMs: number }
  console.log(`\n${own.medianMs < LIMIT_MS ? 'PASS' : 'FAIL'} render median ${fmt(own.medianMs, 1)} ms < ${LIMIT_MS} ms`)
  console.log(`${own.blockedMs < LIMIT_MS ? 'PASS' : 'FAIL'} event loop blocked at most ${fmt(own.blockedMs, 1)} ms < ${LIMIT_MS} ms`)
  const warm = costs.slice(4)
  const longest = { cold: costs[0]?.longestCpuMs ?? 0, warm: Math.max(...warm.map((c) => c.longestCpuMs)), stretches: warm[0]?.stretches ?? 0 }
  console.log(`MetricsPage: ${longest.stretches} stretches per scrape between yields; the longest took ${fmt(longest.warm, 1)} ms of CPU (${fmt(longest.cold, 1)} ms in the cold first scrape; process CPU, GC threads included)`)
  console.log(`results: ${saveResults('metrics', { services: SERVICES, endpoints: ENDPOINTS, scrapes: SCRAPES, results, longest })}`)
  await tables.close()
}

main().catch((err) => { console.error(err); process.exit(1) })
