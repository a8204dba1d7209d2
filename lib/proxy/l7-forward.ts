/**
 * One proxied HTTP request: an undici dispatch handler (legacy raw-header
 * API: no header parsing, no stream wrappers) streaming the response into
 * the client's exchange with backpressure. Fixed shape, no closures.
 *
 * Retry: a request whose connect failed goes to the NEXT endpoint (nothing
 * was sent, any method); a request whose connection broke before any response
 * is retried only when idempotent and bodiless. Never after a response began.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { STATUS_CODES } from 'node:http'
import type { Endpoint } from '../balancer/endpoint'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Route } from '../table/routing-table'
import { classify, isIdempotent } from './errors-map'
import { downstreamResponseHead, type ResponseInfo } from './headers'
import { sendError } from './responses'
import type { AccessLog } from './access-log'
import type { Exchange, Runner } from './http1/exchange'

export interface ForwardContext {
  passive: PassiveHealth
  maxTries: number
  /** Set once at shutdown: responses say Connection: close so keep-alive clients leave. */
  draining: boolean
  /** null when the access log is off. */
  accessLog: AccessLog | null
}

const CLIENT_GONE = 'client closed the connection'
const responseInfo: ResponseInfo = { contentLength: -1 }

export class Forward implements Runner {
  readonly ex: Exchange
  readonly route: Route
  readonly ctx: ForwardContext
  readonly headers: string[]
  readonly hasBody: boolean
  ep: Endpoint | null = null
  tries = 0
  responded = false
  done = false
  clientGone = false
  abort: ((err?: Error) => void) | null = null
  resume: (() => void) | null = null

  constructor (ex: Exchange, route: Route, ctx: ForwardContext, headers: string[], hasBody: boolean) {
    this.ex = ex
    this.route = route
    this.ctx = ctx
    this.headers = headers
    this.hasBody = hasBody
  }

  /** Starts the exchange: the next endpoint in the round robin, or 503. */
  run (): void {
    const ep = this.route.balancer.pick()
    if (ep === null) {
      this.route.stats.generated[5]++
      sendError(this.ex, 503, this.route.unavailableBody, 'MESH_ERR_NO_HEALTHY_ENDPOINT')
      this.#end(503, false)
      return
    }
    if (this.ex.expectContinue) this.ex.owner.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
    this.send(ep)
  }

  /**
   * The client left: undici aborts the request and destroys its upstream
   * connection. (undici 7 then opens one spare connection to the endpoint,
   * nodejs/undici#5845; it is reused or reaped after upstreamKeepAlive.)
   */
  cancel (): void {
    if (this.done) return
    this.clientGone = true
    if (this.abort !== null) this.abort(new Error(CLIENT_GONE))
  }

  send (ep: Endpoint): void {
    this.ep = ep
    this.tries++
    this.abort = null
    ep.pool.dispatch({
      path: this.ex.url,
      method: this.ex.method,
      headers: this.headers,
      body: this.hasBody ? this.ex.body : null
    }, this)
  }

  // --- undici handler ---

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.clientGone) abort(new Error(CLIENT_GONE))
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true // 1xx interim responses are not forwarded
    const ep = this.ep as Endpoint
    this.ctx.passive.success(ep)
    this.responded = true
    this.resume = resume
    const head = downstreamResponseHead(rawHeaders, responseInfo)
    this.ex.respond(statusCode, statusText !== '' ? statusText : STATUS_CODES[statusCode] ?? '', head, responseInfo.contentLength)
    ep.responses[(statusCode / 100) | 0]++
    return true
  }

  onData (chunk: Buffer): boolean {
    const ok = this.ex.write(chunk)
    // false pauses the upstream until the client socket drains.
    if (!ok) (this.ex.owner.socket as Socket).once('drain', this.resume as () => void)
    return ok
  }

  onComplete (): void {
    this.ex.end()
    this.#end(this.ex.status)
  }

  onError (err: Error): void {
    const ep = this.ep as Endpoint
    if (this.clientGone) {
      this.#end(499)
      return
    }
    if (this.responded) {
      this.ex.abort()
      this.route.stats.upstreamErrors[classify(err).kind]++
      this.#end(this.ex.status)
      return
    }
    const c = classify(err)
    this.route.stats.upstreamErrors[c.kind]++
    if (c.passive) this.ctx.passive.failure(ep, (err as { code?: string }).code ?? err.message)
    const body = this.ex.body
    const mayRetry = this.tries < this.ctx.maxTries && this.tries < this.route.balancer.endpoints.length &&
      (c.connectFailure ? body === null || !body.readableDidRead : c.reset && !this.hasBody && isIdempotent(this.ex.method))
    if (mayRetry) {
      const next = this.route.balancer.pick()
      if (next !== null && next !== ep) {
        this.send(next)
        return
      }
    }
    sendError(this.ex, c.status, `${c.status === 504 ? '504 Gateway Timeout' : '502 Bad Gateway'}: service "${this.route.service}" endpoint ${ep.address} failed (${(err as { code?: string }).code ?? err.message})\n`,
      c.status === 504 ? 'MESH_ERR_UPSTREAM_TIMEOUT' : 'MESH_ERR_UPSTREAM')
    this.route.stats.generated[5]++
    this.#end(c.status)
  }

  /** Every outcome ends here once: duration metric, access log. */
  #end (status: number, forwarded = true): void {
    this.done = true
    const seconds = (performance.now() - this.ex.start) / 1000
    if (forwarded) this.route.stats.duration.observe(seconds)
    if (this.ctx.accessLog !== null) this.ctx.accessLog.request(this.ex, status, this.route.service, this.ep?.address ?? '-', seconds)
  }
}
