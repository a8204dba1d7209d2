/**
 * The metrics a user is told about are the metrics a node serves: README's
 * Metrics table (name, type, labels) against a live node's /metrics, both
 * ways; and every query of the Grafana dashboard (dashboards/routemesh.json)
 * names metrics and labels that exist. dashboards/prometheus.yml scrapes
 * /metrics.
 */
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { Backend } from '../helpers/backend'
import { httpGet, meshOk } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const ROOT = join(__dirname, '..', '..', '..')

interface Documented { type: string, labels: string[] }

/** README's Metrics table: | `name` | type | `label`, `label` | what | */
function documented (): Map<string, Documented> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1))
  const out = new Map<string, Documented>()
  for (const line of section.split('\n')) {
    const m = /^\| `(mesh_[a-z0-9_]+)` \| (counter|gauge|histogram) \|([^|]*)\|/.exec(line)
    if (m !== null) out.set(m[1], { type: m[2], labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((x) => x[1]).sort() })
  }
  return out
}

interface Served { type: string, labelSets: Set<string> }

/** /metrics: the TYPE of every mesh_ family and the label names its samples carry (without node and le). */
function served (text: string): Map<string, Served> {
  const out = new Map<string, Served>()
  for (const line of text.split('\n')) {
    const type = /^# TYPE (mesh_[a-z0-9_]+) (\w+)$/.exec(line)
    if (type !== null) { out.set(type[1], { type: type[2], labelSets: new Set() }); continue }
    const sample = /^(mesh_[a-z0-9_]+?)(_bucket|_sum|_count)?\{([^}]*)\} /.exec(line)
    if (sample === null) continue
    const family = out.get(sample[1]) ?? out.get(sample[1] + (sample[2] ?? ''))
    const names = [...sample[3].matchAll(/([a-z_]+)="/g)].map((x) => x[1]).filter((n) => n !== 'node' && n !== 'le').sort()
    family?.labelSets.add(names.join(','))
  }
  return out
}

t.test('README lists exactly the metrics a busy node serves, with their types and labels; Grafana queries only those', async (t) => {
  const { redis, backends: [web], nodes: [node] } = await meshScenario(t, { backends: ['a'], nodeArgs: ['--manager'] })
  const tcpBackend = await Backend.start('tcp')
  t.teardown(async () => { await tcpBackend.close() })
  const httpPort = await freePort(node.addr)
  const tcpPort = await freePort(node.addr)
  await meshOk(['service', 'create', '--name', 'web', '--publish', `${httpPort}:80`, '--endpoint', web.address], redis.url)
  await meshOk(['service', 'create', '--name', 'raw', '--publish', `${tcpPort}:9000/tcp`, '--endpoint', tcpBackend.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:${httpPort}/`)).status === 200, { what: 'web served' })
  t.equal((await httpGet(`http://${node.addr}:${httpPort}/`, { headers: { host: 'x' } })).status, 200)
  await new Promise<void>((resolve, reject) => {
    const s = connect({ host: node.addr, port: tcpPort }, () => { s.end('GET / HTTP/1.0\r\n\r\n') })
    s.on('data', () => {})
    s.once('close', () => { resolve() })
    s.once('error', reject)
  })

  const docs = documented()
  t.ok(docs.size >= 20, `README documents ${docs.size} metrics`)
  const live = served(await node.metrics())
  t.same([...live.keys()].sort(), [...docs.keys()].sort(), 'the same names, both ways')
  for (const [name, doc] of docs) {
    const s = live.get(name)
    if (s === undefined) continue
    t.equal(s.type, doc.type, `${name} is a ${doc.type}`)
    for (const set of s.labelSets) t.equal(set, doc.labels.join(','), `${name} samples carry ${doc.labels.join(', ') || 'no labels'} (and node)`)
  }
  for (const name of ['mesh_http_requests_total', 'mesh_http_request_duration_seconds', 'mesh_tcp_connections_total', 'mesh_endpoints', 'mesh_registry_up']) {
    t.ok((live.get(name)?.labelSets.size ?? 0) > 0, `${name} has samples on this busy node`)
  }

  // Grafana: every metric a query names exists, and so does every label it matches or groups by.
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'dashboards', 'routemesh.json'), 'utf8')) as { panels: unknown[], templating: { list: Array<{ type: string, query?: unknown }> } }
  const exprs: string[] = []
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(walk); return }
    if (v === null || typeof v !== 'object') return
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'expr' || k === 'query') && typeof x === 'string') exprs.push(x)
      else walk(x)
    }
  }
  walk(dashboard.panels)
  walk(dashboard.templating.list.filter((v) => v.type === 'query'))
  t.ok(exprs.length >= 20, `${exprs.length} queries in the dashboard`)
  const family = (token: string): string | null => {
    if (docs.has(token)) return token
    const base = token.replace(/_(bucket|sum|count)$/, '')
    return docs.get(base)?.type === 'histogram' ? base : null
  }
  for (const expr of exprs) {
    const names = [...expr.matchAll(/\b(mesh_[a-z0-9_]+)/g)].map((m) => m[1])
    t.ok(names.length > 0, `names a metric: ${expr}`)
    const labels = new Set(['node', 'le'])
    for (const token of names) {
      const f = family(token)
      t.ok(f !== null, `${token} exists (${expr})`)
      if (f !== null) for (const l of docs.get(f)?.labels ?? []) labels.add(l)
    }
    const used = [...expr.matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=)\s*"/g)].map((m) => m[1])
    for (const m of expr.matchAll(/\bby \(([^)]*)\)/g)) used.push(...m[1].split(',').map((x) => x.trim()))
    for (const m of expr.matchAll(/label_values\([a-z_0-9]+, ([a-z_]+)\)/g)) used.push(m[1])
    for (const l of used) t.ok(labels.has(l), `label ${l} exists on ${names.join(', ')}`)
  }

  const prom = parseYaml(readFileSync(join(ROOT, 'dashboards', 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ metrics_path: string, static_configs: Array<{ targets: string[] }> }> }
  t.equal(prom.scrape_configs[0].metrics_path, '/metrics', 'prometheus.yml scrapes /metrics')
  t.ok(prom.scrape_configs[0].static_configs[0].targets.length >= 3, 'every node of a mesh up cluster')
})
