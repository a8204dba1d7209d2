/**
 * The admin listener: /metrics (Prometheus text) and /healthz (JSON).
 * POST /debug/gc runs a full GC and answers the heap used after it, only in a
 * node started with `node --expose-gc` (the soak benchmark's leak check);
 * otherwise it does not exist.
 */
import { createServer, type Server } from 'node:http'
import { parseHostPort } from '../util/address'

export interface HealthzSource {
  healthz: () => Record<string, unknown>
}

export interface MetricsSource {
  metrics: () => Promise<string>
  contentType: string
}

export async function startAdmin (address: string, metrics: MetricsSource, health: HealthzSource): Promise<Server> {
  const { host, port } = parseHostPort(address, 'node.admin')
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const gc = (globalThis as { gc?: () => void }).gc
    if (path === '/debug/gc' && req.method === 'POST' && gc !== undefined) {
      gc()
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify({ heapUsed: process.memoryUsage().heapUsed })}\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/metrics') {
      metrics.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.contentType })
        res.end(text)
      }, (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`metrics failed: ${err.message}\n`)
      })
      return
    }
    if (path === '/healthz') {
      const body = health.healthz()
      res.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify(body)}\n`)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found: try /metrics or /healthz\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return server
}
