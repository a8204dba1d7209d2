/**
 * Test backends: real HTTP servers on their own loopback addresses.
 *   GET /            -> "<name>\n"
 *   GET /headers     -> JSON { rawHeaders } as the backend received them
 *   GET /bytes?n=N   -> N bytes streamed
 *   POST /count      -> "<bytes received>\n" (streams, never buffers)
 *   GET /slow?ms=N   -> answers after N ms
 *   GET /status?code=N -> an empty response with that status
 *   GET /chunked     -> two chunks 20 ms apart (no Content-Length)
 *   POST /reset      -> reads the body, then resets the connection (no answer)
 *   GET /health      -> 200 or 503 (backend.healthy)
 *   Upgrade          -> 101 with a real WebSocket accept key, then echoes bytes;
 *                       /decline: 403 with a body instead; /hang: never answers
 * Every request is recorded in `seen` (method, url, raw headers) in arrival order.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { loopback } from './ports'

export class Backend {
  readonly name: string
  readonly host: string
  port = 0
  readonly server: Server
  requests = 0
  healthy = true
  readonly seen: Array<{ method: string, url: string, rawHeaders: string[] }> = []
  /** When set, every request is answered with this status (an endpoint failing everything). */
  forceStatus = 0
  readonly sockets = new Set<Socket>()

  constructor (name: string, host: string) {
    this.name = name
    this.host = host
    this.server = createServer((req, res) => {
      this.requests++
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders })
      if (this.forceStatus !== 0) {
        req.resume()
        res.writeHead(this.forceStatus, { 'content-type': 'text/plain' }).end(`${this.name} ${this.forceStatus}\n`)
        return
      }
      let url: URL
      try {
        url = new URL(`http://x${req.url ?? '/'}`)
      } catch {
        res.writeHead(400).end('bad target\n') // the proxy forwards any valid origin-form target, `//a:b` included
        return
      }
      if (url.pathname === '/headers') {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ rawHeaders: req.rawHeaders, url: req.url, method: req.method }))
      } else if (url.pathname === '/bytes') {
        let left = Number(url.searchParams.get('n') ?? '0')
        res.writeHead(200, { 'content-length': left, 'content-type': 'application/octet-stream' })
        const chunk = Buffer.alloc(64 * 1024, 97)
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length)
            left -= n
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', pump); return }
          }
          res.end()
        }
        pump()
      } else if (url.pathname === '/count') {
        let n = 0
        req.on('data', (c: Buffer) => { n += c.length })
        req.on('end', () => { res.end(`${n}\n`) })
      } else if (url.pathname === '/slow') {
        setTimeout(() => { res.end(`${this.name}\n`) }, Number(url.searchParams.get('ms') ?? '1000'))
      } else if (url.pathname === '/status') {
        res.writeHead(Number(url.searchParams.get('code') ?? '200'), { etag: '"v1"' })
        res.end()
      } else if (url.pathname === '/chunked') {
        res.write(`${this.name} part1\n`)
        setTimeout(() => { res.end(`${this.name} part2\n`) }, 20)
      } else if (url.pathname === '/reset') {
        // Reads the whole body, then resets the connection without an answer.
        req.resume()
        req.on('end', () => { req.socket.destroy() })
      } else if (url.pathname === '/health') {
        res.writeHead(this.healthy ? 200 : 503).end(this.healthy ? 'ok\n' : 'down\n')
      } else {
        res.setHeader('x-backend', this.name)
        res.setHeader('connection', 'keep-alive')
        res.setHeader('keep-alive', 'timeout=5')
        res.end(`${this.name}\n`)
      }
    })
    this.server.on('connection', (s: Socket) => { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)) })
    this.server.on('upgrade', (req, socket: Socket, head: Buffer) => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders })
      socket.on('error', () => {}) // a client cut by the proxy
      if (req.url === '/hang') return
      if (req.url === '/decline') {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\ndeclined\n')
        return
      }
      const key = String(req.headers['sec-websocket-key'] ?? '')
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${this.name}\r\n\r\n`)
      if (head.length > 0) socket.write(head)
      socket.pipe(socket)
    })
  }

  get address (): string { return `${this.host}:${this.port}` }

  static async start (name: string, host = loopback(), port = 0): Promise<Backend> {
    const b = new Backend(name, host)
    await b.listen(port)
    return b
  }

  async listen (port = this.port): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject)
        const a = this.server.address()
        this.port = typeof a === 'object' && a !== null ? a.port : 0
        resolve()
      })
    })
  }

  /** Stops listening and drops open connections (the endpoint "dies"). */
  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    if (!this.server.listening) return
    await new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
  }
}
