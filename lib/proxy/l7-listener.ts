/**
 * An HTTP/1.1 listener for one published port. Per request head: the
 * checks an edge proxy owes its backends (framing, Host, target, Expect),
 * header rewriting, and the runner that answers in the request's turn: a
 * Forward (plain request), a TunnelForward (WebSocket upgrade) or a refusal.
 * The route is chosen when that turn comes (RouteSource), from the entry the
 * listener holds now. Connections, parsing, framing and client timeouts
 * live in http1/.
 */
import type { Server, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { PortEntry, type Route } from '../table/routing-table'
import { Forward, type RouteSource } from './l7-forward'
import { eqLower, hasToken } from './header-names'
import { newRequestInfo, upstreamRequestHeaders, type ForwardingOptions } from './request-headers'
import { parseTarget, validHost, type Target } from './request-target'
import { GeneratedResponse, sendError } from './responses'
import { TunnelForward, type TunnelContext } from './tunnel-forward'
import { Http1Server, type ClientTimeouts, type Http1Shared } from './http1/server'
import type { RequestHandler } from './http1/connection'
import type { Exchange } from './http1/exchange'
import type { ClientSide } from './client-side'
import { RequestBody } from './http1/request-body'
import { H2Front } from './http2/h2-front'
import { TlsFront, type TlsPort } from './tls/tls-front'
import type { TLSSocket } from 'node:tls'

export interface L7Options extends Omit<ForwardingOptions, 'proto'> {
  clientHeadersTimeout: number
  clientIdleTimeout: number
  clientRequestTimeout: number
  clientSendTimeout: number
  /** Upstream connect timeout for upgrade requests (plain requests use the pool's). */
  connectTimeout: number
  /** Upstream answer timeout for upgrade requests. */
  headersTimeout: number
  maxHeaderSize: number
  maxHeaders: number
  /** HTTP/2 streams a client may have open at once. */
  http2MaxStreams: number
}

const EMPTY = Buffer.alloc(0)

export class L7Listener implements RequestHandler, RouteSource {
  #entry: PortEntry
  readonly port: number
  readonly #http: Http1Server
  readonly #options: L7Options
  /** What upstream is told the client spoke (X-Forwarded-Proto). */
  readonly #forwarding: ForwardingOptions
  /** TLS termination (an HTTPS port), or null. */
  readonly #tls: TlsFront | null
  readonly plain: boolean
  readonly #ctx: TunnelContext
  readonly #info = newRequestInfo()
  readonly #target: Target = { path: '', authority: null }
  /** The HTTP/2 side, made for the first client that speaks it. */
  #h2: H2Front | null = null

  constructor (entry: PortEntry, options: L7Options, ctx: TunnelContext, shared: Http1Shared, tls: TlsPort | null = null) {
    this.#entry = entry
    this.port = entry.port
    this.#options = options
    this.#forwarding = { ...options, proto: tls === null ? 'http' : 'https' }
    this.plain = tls === null
    this.#ctx = ctx
    this.#tls = tls === null ? null : new TlsFront(tls, options.clientHeadersTimeout, (socket) => { this.#secure(socket) })
    this.#http = new Http1Server({
      maxHeaderSize: options.maxHeaderSize,
      maxHeaders: options.maxHeaders,
      headersTimeout: options.clientHeadersTimeout,
      requestTimeout: options.clientRequestTimeout,
      idleTimeout: options.clientIdleTimeout,
      sendTimeout: options.clientSendTimeout
    }, this, shared, this.#tls?.server ?? null)
  }

  get entry (): PortEntry { return this.#entry }

  /** The port's routes after a table swap (its TLS default certificate follows them). */
  set entry (entry: PortEntry) {
    this.#entry = entry
    this.#tls?.refresh()
  }

  /** Handshakes refused for want of a certificate (HTTPS ports). */
  get tlsRefused (): number { return this.#tls?.refused ?? 0 }

  /** A TLS connection through its handshake: HTTP/2 or HTTP/1.1 as ALPN chose. */
  #secure (socket: TLSSocket): void {
    if (socket.alpnProtocol === 'h2') this.#h2Front().adopt(socket, EMPTY, false)
    else this.#http.accept(socket)
  }

  get server (): Server { return this.#http.server }
  /** Client connections open now (HTTP/1.x connections and HTTP/2 sessions). */
  get connections (): number { return this.#http.connections + (this.#h2?.sessions ?? 0) }
  /** HTTP/2 streams answered since start. */
  get http2Streams (): number { return this.#h2?.streams ?? 0 }
  get timeouts (): ClientTimeouts { return this.#http.timeouts }

  /** Closes keep-alive connections that have no request in flight. */
  closeIdle (): void {
    this.#http.closeIdle()
    this.#h2?.closeIdle()
  }

  /** The port left the table: no route from now on; connections close after their exchange in flight. */
  retire (): void {
    this.#entry = new PortEntry(this.port, 'http', [])
    this.#http.retire()
    this.#h2?.closeIdle()
  }

  dropConnections (): void {
    this.#http.closeAll()
    this.#h2?.closeAll()
  }

  /** h2c with prior knowledge: the connection is HTTP/2's from its first byte. */
  onPreface (socket: Socket, head: Buffer, trusted: boolean): void {
    this.#h2Front().adopt(socket, head, trusted)
  }

  #h2Front (): H2Front {
    const o = this.#options
    this.#h2 ??= new H2Front(this, this.#ctx, {
      maxStreams: o.http2MaxStreams,
      maxHeaderSize: o.maxHeaderSize,
      maxHeaders: o.maxHeaders,
      idleTimeout: o.clientIdleTimeout,
      ...this.#forwarding
    })
    return this.#h2
  }

  // --- RouteSource ---

  route (host: string | null): Route | null {
    return this.entry.lookup(host ?? undefined)
  }

  noRoute (ex: ClientSide, host: string | null): void {
    if (this.entry.routes.length === 0) sendError(ex, 503, `503 Service Unavailable: port ${this.port} is no longer published\n`, 'MESH_ERR_NO_ROUTE', true)
    else sendError(ex, 404, `404 Not Found: no service for host "${host ?? ''}" on port ${this.port}\n`, 'MESH_ERR_NO_ROUTE')
  }

  // --- RequestHandler ---

  onRequest (ex: Exchange): void {
    const info = this.#info
    const target = this.#target
    if (!parseTarget(ex.url, target)) {
      this.#refuse(ex, 400, ex.url === '*'
        ? '400 Bad Request: OPTIONS * (asterisk-form) is not forwarded\n'
        : '400 Bad Request: the request target must be /path or http://host/path\n')
      return
    }
    const headers = upstreamRequestHeaders(ex.rawHeaders, ex.remoteAddress, ex.owner.trusted, target.authority, this.#forwarding, info)
    if (info.hasBody) ex.body = new RequestBody(ex.owner)
    if (info.transferEncoding !== '' && !eqLower(info.transferEncoding.trim(), 'chunked')) {
      // RFC 9112 6.1: a coding the server does not understand. De-chunking `gzip, chunked` and
      // forwarding it without its coding would change what the body means.
      this.#refuse(ex, 501, `501 Not Implemented: Transfer-Encoding "${info.transferEncoding}" (only chunked is supported)\n`)
      return
    }
    if (info.hosts > 1) {
      this.#refuse(ex, 400, '400 Bad Request: more than one Host header\n')
      return
    }
    if (info.host === null) {
      if (ex.versionMinor === 1) {
        this.#refuse(ex, 400, '400 Bad Request: HTTP/1.1 request without a Host header\n')
        return
      }
    } else if (!validHost(info.host)) {
      this.#refuse(ex, 400, '400 Bad Request: the Host header is not a host[:port]\n')
      return
    }
    if (ex.versionMinor === 0 && info.transferEncoding !== '') ex.keepAlive = false // RFC 9112 6.1: close after a 1.0 request with Transfer-Encoding
    if (info.expect !== '' && ex.versionMinor === 1) {
      if (!eqLower(info.expect.trim(), '100-continue')) {
        this.#refuse(ex, 417, `417 Expectation Failed: ${info.expect}\n`)
        return
      }
      ex.expectContinue = info.hasBody
    }
    if (ex.upgrade && ex.method === 'GET' && ex.versionMinor === 1 && !info.hasBody && hasToken(info.upgrade, 'websocket')) {
      ex.tunnel = true
      ex.runner = new TunnelForward(ex, this, this.#ctx, target.path, headers, 'websocket', info.host)
      return
    }
    // Any other Upgrade offer (h2c, ...) is served as the plain HTTP/1.1 request it also is.
    ex.runner = new Forward(ex, this, this.#ctx, target.path, headers, info.hasBody, info.host)
  }

  /** A request answered by the listener itself, in its turn; the connection closes after it. */
  #refuse (ex: Exchange, status: number, body: string): void {
    ex.runner = new GeneratedResponse(ex, status, body, null, true, this.#log(ex))
  }

  /** Access-log hook for answers made before any route was chosen (null when the log is off). */
  #log (ex: Exchange): ((status: number) => void) | null {
    const log = this.#ctx.accessLog
    if (log === null) return null
    return (status) => { log.request(ex, status, '-', '-', (performance.now() - ex.start) / 1000) }
  }
}
