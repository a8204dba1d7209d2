/**
 * An HTTP/1.1 listener for one published port. Per request: route lookup
 * (by Host only on shared ports), round-robin pick, header rewrite, dispatch.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import type { PortEntry } from '../table/routing-table'
import { Forward, onClientSocketClose, type ForwardContext } from './l7-forward'
import { upstreamRequestHeaders, type RequestInfo } from './headers'
import { hostOf } from './host-header'
import { sendError } from './responses'
import type { UpgradeProxy } from './upgrade'

export interface L7Options {
  clientHeadersTimeout: number
  clientIdleTimeout: number
  clientRequestTimeout: number
  /** Upstream connect timeout for Upgrade requests (plain requests use the pool's). */
  connectTimeout: number
  maxHeaderSize: number
  xForwarded: boolean
}

export class L7Listener {
  entry: PortEntry
  readonly server: Server
  readonly #options: L7Options
  readonly #ctx: ForwardContext
  readonly #upgrade: UpgradeProxy
  readonly #info: RequestInfo = { host: '', hasBody: false }

  constructor (entry: PortEntry, options: L7Options, ctx: ForwardContext, upgrade: UpgradeProxy) {
    this.entry = entry
    this.#options = options
    this.#ctx = ctx
    this.#upgrade = upgrade
    this.server = createServer({
      maxHeaderSize: options.maxHeaderSize,
      // Slow or stalled clients are cut by Node's periodic sweep (headersTimeout,
      // requestTimeout), not by a per-socket idle timer re-armed on every request.
      requestTimeout: options.clientRequestTimeout,
      headersTimeout: options.clientHeadersTimeout,
      keepAliveTimeout: options.clientIdleTimeout,
      noDelay: true
    } as Parameters<typeof createServer>[0], this.#onRequest.bind(this))
    this.server.on('connection', onConnection)
    this.server.on('upgrade', this.#onUpgrade.bind(this))
    this.server.on('clientError', onClientError)
  }

  /** Closes keep-alive connections that have no request in flight. */
  closeIdle (): void {
    this.server.closeIdleConnections()
  }

  dropConnections (): void {
    this.server.closeAllConnections()
  }

  #onRequest (req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now()
    if (this.#ctx.draining) res.shouldKeepAlive = false
    const entry = this.entry
    const route = entry.single ?? entry.lookup(hostOf(req.rawHeaders))
    if (route === null) {
      const host = hostOf(req.rawHeaders) ?? ''
      sendError(res, 404, `404 Not Found: no service for host "${host}" on port ${entry.port}\n`, 'MESH_ERR_NO_ROUTE')
      this.#ctx.accessLog?.request(req, 404, '-', '-', (performance.now() - start) / 1000)
      return
    }
    const ep = route.balancer.pick()
    if (ep === null) {
      route.stats.generated[5]++
      sendError(res, 503, route.unavailableBody, 'MESH_ERR_NO_HEALTHY_ENDPOINT')
      this.#ctx.accessLog?.request(req, 503, route.service, '-', (performance.now() - start) / 1000)
      return
    }
    const info = this.#info
    const headers = upstreamRequestHeaders(req.rawHeaders, (req.socket as Socket).remoteAddress ?? '', this.#options.xForwarded, info)
    const fwd = new Forward(req, res, route, this.#ctx, headers, info.hasBody, start)
    fwd.send(ep)
  }

  #onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#upgrade.handle(this.entry, req, socket, head)
  }
}

function onConnection (socket: Socket): void {
  socket.on('close', onClientSocketClose)
}

function onClientError (err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
}
