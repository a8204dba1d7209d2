/**
 * Baseline (b): undici Pool.dispatch behind http.createServer with a raw
 * handler (legacy handler API: onConnect/onHeaders/onData/onComplete/onError),
 * raw headers both ways, no per-request stream wrappers. Round robin per
 * request; hop-by-hop headers dropped; response streamed with backpressure.
 *
 *   node dist/bench/baselines/undici-dispatch.js --listen 127.0.0.62:8080 --backend 127.0.0.51:9001 ...
 */
import http from 'node:http'
import { Pool, type Dispatcher } from 'undici'
import { baselineArgs } from './backends'

const { listen, backends } = baselineArgs('undici-dispatch.js')
const pools = backends.map((b) => new Pool(`http://${b.host}:${b.port}`, {
  connections: 256,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000
}))
let next = 0

// Request headers undici refuses or that are hop-by-hop (lower-case compare).
const DROP_REQ = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host'])
const DROP_RES = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'])

class Forward implements Dispatcher.DispatchHandler {
  readonly res: http.ServerResponse
  readonly req: http.IncomingMessage
  abort: ((err?: Error) => void) | null = null
  resume: (() => void) | null = null

  constructor (req: http.IncomingMessage, res: http.ServerResponse) {
    this.req = req
    this.res = res
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
  }

  onHeaders (statusCode: number, raw: Buffer[], resume: () => void): boolean {
    const headers: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i].toString('latin1')
      if (DROP_RES.has(key.toLowerCase())) continue
      headers.push(key, raw[i + 1].toString('latin1'))
    }
    if (statusCode < 200) return true // 1xx: wait for the final answer
    this.res.writeHead(statusCode, headers)
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    const ok = this.res.write(chunk)
    // false pauses the upstream; 'drain' resumes it (only when the client is slow).
    if (!ok && this.resume !== null) this.res.once('drain', this.resume)
    return ok
  }

  onComplete (): void {
    this.res.end()
  }

  onError (err: Error): void {
    if (!this.res.headersSent) {
      this.res.writeHead(502, { 'content-type': 'text/plain' })
      this.res.end(`bad gateway: ${err.message}\n`)
    } else {
      this.res.destroy(err)
    }
  }
}

const server = http.createServer((req, res) => {
  const raw = req.rawHeaders
  const headers: string[] = []
  let host = ''
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i].toLowerCase()
    if (key === 'host') host = raw[i + 1]
    if (DROP_REQ.has(key)) continue
    headers.push(raw[i], raw[i + 1])
  }
  headers.push('x-forwarded-for', req.socket.remoteAddress ?? '', 'x-forwarded-host', host, 'x-forwarded-proto', 'http')
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  const pool = pools[next]
  next = (next + 1) % pools.length
  pool.dispatch({
    path: req.url ?? '/',
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? req : null
  }, new Forward(req, res))
})
server.keepAliveTimeout = 65_000
server.listen(listen.port, listen.host, () => process.stdout.write(`undici-dispatch baseline on ${listen.host}:${listen.port}\n`))
process.on('SIGTERM', () => process.exit(0))
