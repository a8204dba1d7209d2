/**
 * The admin listener (`--admin`, node.admin; off by default, and bound to
 * the address it names, never to every interface unless told so):
 *
 *   GET /metrics     Prometheus text                    open
 *   GET /healthz     JSON                               open
 *   GET /            the live dashboard (read-only)     admin token
 *   GET /events      its Server-Sent Events             admin token
 *   POST /debug/gc   full GC, heap used after it        admin token; only under `node --expose-gc`
 *
 * Everything but /metrics and /healthz needs node.adminToken (admin-auth.ts);
 * without one configured those paths answer 403 saying how to turn them on.
 * No response carries a credential: not the token, not the Redis URL, not a
 * service's environment.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { parseHostPort } from '../util/address'
import { createLogger } from '../util/log'
import { AdminAuth } from './admin-auth'
import { loadDashboardPages, type Page } from './dashboard-page'
import { EventStream, type DashboardSources } from './event-stream'

const log = createLogger('admin')

export interface HealthzSource {
  healthz: () => Record<string, unknown>
}

export interface MetricsSource {
  metrics: () => Promise<string | Buffer>
  contentType: string
}

export interface AdminOptions {
  /** node.adminToken; '' = only /metrics and /healthz. */
  token: string
  /** What the dashboard shows; null = no dashboard. */
  dashboard: DashboardSources | null
}

export interface AdminServer extends Server {
  /** The dashboard's event stream (tests look at its client count). */
  events: EventStream | null
}

export async function startAdmin (address: string, metrics: MetricsSource, health: HealthzSource, options: AdminOptions = { token: '', dashboard: null }): Promise<AdminServer> {
  const { host, port } = parseHostPort(address, 'node.admin')
  const auth = new AdminAuth(options.token)
  const pages = options.dashboard !== null ? loadDashboardPages() : null
  const events = options.dashboard !== null ? new EventStream(options.dashboard) : null
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin')
    const path = url.pathname
    if (path === '/metrics' || path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') { notAllowed(res, 'GET, HEAD'); return }
      if (path === '/metrics') serveMetrics(res, metrics)
      else serveHealth(res, health)
      return
    }
    if (!auth.enabled) {
      text(res, 403, `${path} needs the admin token, and this node has none: set node.adminToken (MESH_NODE_ADMIN_TOKEN, or a --config file) to serve the dashboard; /metrics and /healthz need none\n`)
      return
    }
    if (!auth.allows(req, url)) {
      refuse(req, res, path, pages?.login ?? null)
      return
    }
    route(req, res, path, pages?.dashboard ?? null, events)
  }) as AdminServer
  server.events = events
  server.on('close', () => { events?.close() })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  if (!auth.enabled) log.info(`admin on http://${address}: /metrics and /healthz only (set node.adminToken for the dashboard)`)
  return server
}

/** Behind the token. */
function route (req: IncomingMessage, res: ServerResponse, path: string, dashboard: Page | null, events: EventStream | null): void {
  if (path === '/debug/gc') {
    const gc = (globalThis as { gc?: () => void }).gc
    if (req.method !== 'POST') { notAllowed(res, 'POST'); return }
    if (gc === undefined) { text(res, 404, 'not found: /debug/gc exists only in a node started with node --expose-gc\n'); return }
    gc()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(`${JSON.stringify({ heapUsed: process.memoryUsage().heapUsed })}\n`)
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') { notAllowed(res, 'GET, HEAD'); return }
  if (path === '/' && dashboard !== null) {
    res.writeHead(200, dashboard.headers)
    res.end(req.method === 'HEAD' ? undefined : dashboard.html)
    return
  }
  if (path === '/events' && events !== null) {
    if (req.method !== 'GET') { notAllowed(res, 'GET'); return }
    events.attach(req, res)
    return
  }
  text(res, 404, 'not found: try /, /events, /metrics or /healthz\n')
}

/** 401: a browser asking for the page gets the token prompt; anything else one line. */
function refuse (req: IncomingMessage, res: ServerResponse, path: string, login: Page | null): void {
  if (path === '/' && login !== null && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
    res.writeHead(401, login.headers)
    res.end(login.html)
    return
  }
  res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="routemesh admin"', 'cache-control': 'no-store' })
  res.end(`401: ${path} needs the admin token (Authorization: Bearer TOKEN, or ?token=TOKEN); /metrics and /healthz need none\n`)
}

function serveMetrics (res: ServerResponse, metrics: MetricsSource): void {
  metrics.metrics().then((body) => {
    res.writeHead(200, { 'content-type': metrics.contentType })
    res.end(body)
  }, (err: Error) => {
    log.warn(`/metrics failed: ${err.message}`)
    text(res, 500, `metrics failed: ${err.message}\n`)
  })
}

function serveHealth (res: ServerResponse, health: HealthzSource): void {
  const body = health.healthz()
  res.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
  res.end(`${JSON.stringify(body)}\n`)
}

function notAllowed (res: ServerResponse, allow: string): void {
  res.writeHead(405, { allow }).end()
}

function text (res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end(body)
}
