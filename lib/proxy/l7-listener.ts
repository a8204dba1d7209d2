/**
 * An HTTP/1.1 listener for one published port. Per request: header rewrite,
 * route lookup (by Host only on shared ports), then in the request's turn a
 * round-robin pick and dispatch (see l7-forward). Connections, parsing,
 * framing and client timeouts live in http1/.
 */
import type { Server, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { PortEntry } from '../table/routing-table'
import { Forward, type ForwardContext } from './l7-forward'
import { upstreamRequestHeaders, type RequestInfo } from './headers'
import { GeneratedResponse } from './responses'
import type { UpgradeProxy } from './upgrade'
import { Http1Server } from './http1/server'
import type { RequestHandler } from './http1/connection'
import type { Exchange } from './http1/exchange'
import { RequestBody } from './http1/request-body'

export interface L7Options {
  clientHeadersTimeout: number
  clientIdleTimeout: number
  clientRequestTimeout: number
  /** Upstream connect timeout for Upgrade requests (plain requests use the pool's). */
  connectTimeout: number
  maxHeaderSize: number
  xForwarded: boolean
}

const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

export class L7Listener implements RequestHandler {
  entry: PortEntry
  readonly #http: Http1Server
  readonly #options: L7Options
  readonly #ctx: ForwardContext
  readonly #upgrade: UpgradeProxy
  readonly #info: RequestInfo = { host: null, hasBody: false, expect: '' }

  constructor (entry: PortEntry, options: L7Options, ctx: ForwardContext, upgrade: UpgradeProxy) {
    this.entry = entry
    this.#options = options
    this.#ctx = ctx
    this.#upgrade = upgrade
    this.#http = new Http1Server({
      maxHeaderSize: options.maxHeaderSize,
      headersTimeout: options.clientHeadersTimeout,
      requestTimeout: options.clientRequestTimeout,
      idleTimeout: options.clientIdleTimeout
    }, this, ctx)
  }

  get server (): Server { return this.#http.server }
  /** Client connections open now. */
  get connections (): number { return this.#http.connections }

  /** Closes keep-alive connections that have no request in flight. */
  closeIdle (): void {
    this.#http.closeIdle()
  }

  dropConnections (): void {
    this.#http.closeAll()
  }

  onRequest (ex: Exchange): void {
    const info = this.#info
    const headers = upstreamRequestHeaders(ex.rawHeaders, ex.remoteAddress, this.#options.xForwarded, info)
    if (info.hasBody) ex.body = new RequestBody(ex.owner)
    if (info.host === null && ex.versionMinor === 1) {
      ex.runner = new GeneratedResponse(ex, 400, '400 Bad Request: HTTP/1.1 request without a Host header\n', null, true, this.#log(ex))
      return
    }
    if (info.expect !== '' && ex.versionMinor === 1) {
      if (!CONTINUE.test(info.expect)) {
        ex.runner = new GeneratedResponse(ex, 417, `417 Expectation Failed: ${info.expect}\n`, null, true, this.#log(ex))
        return
      }
      ex.expectContinue = info.hasBody
    }
    const entry = this.entry
    const route = entry.lookup(info.host ?? undefined)
    if (route === null) {
      ex.runner = new GeneratedResponse(ex, 404, `404 Not Found: no service for host "${info.host ?? ''}" on port ${entry.port}\n`, 'MESH_ERR_NO_ROUTE', false, this.#log(ex))
      return
    }
    ex.runner = new Forward(ex, route, this.#ctx, headers, info.hasBody)
  }

  onUpgrade (ex: Exchange, socket: Socket, head: Buffer): void {
    this.#upgrade.handle(this.entry, ex, socket, head)
  }

  /** Access-log hook for answers made before any route was chosen (null when the log is off). */
  #log (ex: Exchange): ((status: number) => void) | null {
    const log = this.#ctx.accessLog
    if (log === null) return null
    return (status) => { log.request(ex, status, '-', '-', (performance.now() - ex.start) / 1000) }
  }
}
