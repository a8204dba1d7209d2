import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { Registry } from 'prom-client'
import type { PassiveHealth } from '../../lib/balancer/passive-health'
import { MetricsPage } from '../../lib/metrics/metrics-page'
import { addDataPlaneMetrics, dataPlaneMetrics, type DataPlaneSources } from '../../lib/metrics/node-metrics'
import { ScrapeViews } from '../../lib/metrics/scrape-view'
import type { ListenerSet } from '../../lib/proxy/listeners'
import type { ClusterState, RegistryFeed } from '../../lib/registry/feed'
import { SCHEMA_VERSION, type ServiceSpec, type TaskRecord } from '../../lib/registry/types'
import { TableBuilder } from '../../lib/table/table-builder'
import { TableSource } from '../../lib/table/table-source'

const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 0 }

function service (name: string, port: number): ServiceSpec {
  return {
    v: SCHEMA_VERSION, id: `id-${name}`, name, mode: 'replicated', replicas: 2, ports: [{ published: port, target: 80, protocol: 'http' }],
    hosts: [], health: null, command: ['x'], env: {}, update, rollback: update, restart: { condition: 'any', delay: 0, maxAttempts: 0 },
    stopGrace: 0, version: 1, updateState: '', updateMessage: '', createdAt: port, updatedAt: 0, previous: null
  }
}

function task (svc: ServiceSpec, id: string, host: string, slot: number): TaskRecord {
  return {
    v: SCHEMA_VERSION, id, serviceId: svc.id, service: svc.name, slot, node: 'n1', static: false, host, port: 9000, desired: 'running',
    state: 'running', error: '', specVersion: 1, createdAt: 0, stateAt: 0, pid: 1, exitCode: null, restarts: 0
  }
}

function fixture (t: Test): { feed: RegistryFeed & { state: ClusterState }, tables: TableSource, src: DataPlaneSources, page: MetricsPage } {
  const web = service('web', 8080)
  const state: ClusterState = {
    epoch: 'e', rev: 1, services: new Map([['web', web]]),
    tasks: new Map([['t1', task(web, 't1', '127.0.0.11', 1)], ['t2', task(web, 't2', '127.0.0.12', 2)]]),
    health: new Map(), nodes: new Map(), alive: new Set(['n1'])
  }
  const feed = Object.assign(new EventEmitter(), { state, up: true, lastSyncAt: Date.now() - 1500, fullReads: 1 }) as unknown as RegistryFeed & { state: ClusterState }
  const tables = new TableSource(feed, new TableBuilder({ connectTimeout: 1000, headersTimeout: 1000, bodyTimeout: 1000, keepAliveTimeout: 1000, connections: 1, maxHeaderSize: 16384, maxQueued: 0, queueTimeout: 1000 }))
  tables.refresh('test')
  t.teardown(async () => { await tables.close() })
  const listeners = { listeners: new Map(), limit: { active: 0, refused: 0 }, bindFailures: 0 } as unknown as ListenerSet
  const src: DataPlaneSources = { feed, tables, listeners, passive: { ejections: 2 } as unknown as PassiveHealth }
  return { feed, tables, src, page: new MetricsPage('n1', dataPlaneMetrics(src), new ScrapeViews(tables), new Registry(), { routesPerSlice: 1 }) }
}

/** `name{labels}` -> value, for every sample line; throws on a line that is not the text format. */
function parse (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line)
    if (m === null) throw new Error(`not the text format: ${line}`)
    if (out.has(m[1] + (m[2] ?? ''))) throw new Error(`duplicate series: ${line}`)
    out.set(m[1] + (m[2] ?? ''), Number(m[3]))
  }
  return out
}

const key = (ep: string, cls: string): string => `mesh_http_requests_total{service="web",port="8080",endpoint="${ep}",code_class="${cls}",node="n1"}`

t.test('the page is the text format: code_class, node on every series, the renamed registry metrics', async (t) => {
  const { tables, page } = fixture(t)
  const [a] = tables.current().ports.get(8080)?.routes[0].balancer.endpoints ?? []
  a.responses[2] = 7
  a.responses[5] = 1
  const text = (await page.render()).toString()
  const samples = parse(text)
  t.equal(samples.get(key('127.0.0.11:9000', '2xx')), 7)
  t.equal(samples.get(key('127.0.0.11:9000', '5xx')), 1)
  t.notOk(/[{,]code="/.test(text), 'no class in a label named code')
  t.equal(samples.get('mesh_registry_up{node="n1"}'), 1)
  t.ok(!text.includes('\nregistry_up'), 'registry_up is mesh_registry_up now')
  t.ok(Math.abs((samples.get('mesh_registry_last_sync_timestamp_seconds{node="n1"}') ?? 0) - (Date.now() - 1500) / 1000) < 2, 'a timestamp in Unix seconds')
  const age = samples.get('mesh_registry_sync_age_seconds{node="n1"}') ?? -1
  t.ok(age >= 1.4 && age < 5, `an age in seconds (${age})`)
  t.equal(samples.get('mesh_ejections_total{node="n1"}'), 2)
  t.equal(samples.get('mesh_endpoints{service="web",port="8080",health="healthy",node="n1"}'), 2)
  for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) t.ok(line.includes('node="n1"'), `node label: ${line}`)
})

t.test('a removed endpoint keeps its final counts for one more scrape, then its series go', async (t) => {
  const { feed, tables, page } = fixture(t)
  const eps = tables.current().ports.get(8080)?.routes[0].balancer.endpoints ?? []
  eps[0].responses[2] = 10
  eps[1].responses[2] = 20
  t.equal(parse((await page.render()).toString()).get(key('127.0.0.12:9000', '2xx')), 20)
  // Traffic after that scrape, then the task leaves the table (replaced, scaled down...).
  eps[1].responses[2] = 25
  feed.state.tasks.delete('t2')
  tables.refresh('test')
  t.equal(tables.current().ports.get(8080)?.routes[0].balancer.endpoints.length, 1, 'the endpoint left the table')
  const next = parse((await page.render()).toString())
  t.equal(next.get(key('127.0.0.12:9000', '2xx')), 25, 'its final count, increments since the last scrape included')
  t.equal(next.get(key('127.0.0.11:9000', '2xx')), 10)
  t.equal(next.get('mesh_endpoints{service="web",port="8080",health="healthy",node="n1"}'), 1, 'gauges describe the present')
  t.notOk(parse((await page.render()).toString()).has(key('127.0.0.12:9000', '2xx')), 'gone one scrape later')

  // A whole service removed: its counters too, once.
  eps[0].responses[2] = 11
  feed.state.services.delete('web')
  feed.state.tasks.clear()
  tables.refresh('test')
  const last = parse((await page.render()).toString())
  t.equal(last.get(key('127.0.0.11:9000', '2xx')), 11)
  t.notOk([...last.keys()].some((k) => k.startsWith('mesh_endpoints{')), 'no gauge for a removed service')
  t.notOk([...parse((await page.render()).toString()).keys()].some((k) => k.includes('service="web"')), 'then nothing of it')
})

t.test('prom-client sees the same samples as the page (--workers workers are aggregated through it)', async (t) => {
  const { tables, src, page } = fixture(t)
  for (const ep of tables.current().ports.get(8080)?.routes[0].balancer.endpoints ?? []) ep.responses[3] = 4
  tables.current().ports.get(8080)?.routes[0].stats.duration.observe(0.003)
  const registry = new Registry()
  registry.setDefaultLabels({ node: 'n1' })
  addDataPlaneMetrics(registry, src)
  const ours = parse((await page.render()).toString())
  const theirs = parse(await registry.metrics())
  // Label order may differ between the two: compare as sorted label lists.
  const norm = (m: Map<string, number>): string[] => [...m].filter(([k]) => !k.startsWith('mesh_registry_sync_age') && !k.startsWith('mesh_registry_last_sync')).map(([k, v]) => {
    const i = k.indexOf('{')
    return `${i === -1 ? k : k.slice(0, i)} ${i === -1 ? '' : k.slice(i + 1, -1).split(',').sort().join(',')} ${v}`
  }).sort()
  t.same(norm(ours), norm(theirs))
})
