/**
 * One proxied HTTP request: an undici dispatch handler (legacy raw-header
 * API: no header parsing, no stream wrappers) streaming the response into the
 * client's ServerResponse with backpressure. Fixed shape, no closures.
 *
 * Retry: a request whose connect failed goes to the NEXT endpoint (nothing
 * was sent, any method); a request whose connection broke before any response
 * is retried only when idempotent and bodiless. Never after a response began.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Endpoint } from '../balancer/endpoint'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Route } from '../table/routing-table'
import { classify, isIdempotent } from './errors-map'
import { downstreamResponseHeaders } from './headers'
import { sendError } from './responses'
import type { AccessLog } from './access-log'

export interface ForwardContext {
  passive: PassiveHealth
  maxTries: number
  /** Set once at shutdown: responses say Connection: close so keep-alive clients leave. */
  draining: boolean
  /** null when the access log is off. */
  accessLog: AccessLog | null
}

const kForward = Symbol('mesh.forward')

/** Scratch array for response headers: writeHead copies them out synchronously. */
const responseHeaders: string[] = []

type Sock = Socket & { [kForward]?: Forward | null }

/**
 * Client disconnects are watched per connection, not per request: one 'close'
 * listener on each client socket (attached by the listener when it accepts
 * it) aborts whatever that socket still has in flight. The socket points at
 * its latest forward; pipelined ones chain through `prevOnSocket`.
 */
export function onClientSocketClose (this: Sock): void {
  let fwd = this[kForward] ?? null
  this[kForward] = null
  while (fwd !== null) {
    if (!fwd.done) {
      fwd.clientGone = true
      if (fwd.abort !== null) fwd.abort(new Error('client closed the connection'))
    }
    fwd = fwd.prevOnSocket
  }
}

export class Forward {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly route: Route
  readonly ctx: ForwardContext
  readonly headers: string[]
  readonly hasBody: boolean
  readonly start: number
  ep: Endpoint | null = null
  tries = 0
  responded = false
  done = false
  clientGone = false
  abort: ((err?: Error) => void) | null = null
  resume: (() => void) | null = null
  /** Status sent to the client (for the access log). */
  status = 0
  /** Response body bytes still to come when the upstream sent Content-Length, else -1. */
  bodyLeft = -1
  /** An earlier request on the same client connection still in flight (pipelining), else null. */
  prevOnSocket: Forward | null

  constructor (req: IncomingMessage, res: ServerResponse, route: Route, ctx: ForwardContext, headers: string[], hasBody: boolean, start: number) {
    this.req = req
    this.res = res
    this.route = route
    this.ctx = ctx
    this.headers = headers
    this.hasBody = hasBody
    this.start = start
    const socket = req.socket as Sock
    const prev = socket[kForward] ?? null
    this.prevOnSocket = prev !== null && !prev.done ? prev : null
    socket[kForward] = this
  }

  send (ep: Endpoint): void {
    this.ep = ep
    this.tries++
    this.abort = null
    ep.active++
    ep.pool.dispatch({
      path: this.req.url as string,
      method: this.req.method as string,
      headers: this.headers,
      body: this.hasBody ? this.req : null
    }, this)
  }

  // --- undici handler ---

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.clientGone) abort(new Error('client closed the connection'))
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true // 1xx interim responses are not forwarded
    const ep = this.ep as Endpoint
    this.ctx.passive.success(ep)
    this.responded = true
    this.resume = resume
    const res = this.res
    res.sendDate = false
    if (this.ctx.draining) res.shouldKeepAlive = false
    this.bodyLeft = downstreamResponseHeaders(rawHeaders, responseHeaders)
    res.writeHead(statusCode, statusText, responseHeaders)
    ep.responses[(statusCode / 100) | 0]++
    this.status = statusCode
    return true
  }

  onData (chunk: Buffer): boolean {
    // The chunk that completes a Content-Length body ends the response in the
    // same call (one write, no cork/uncork tick): the common small-response case.
    if (chunk.length === this.bodyLeft) {
      this.bodyLeft = 0
      this.res.end(chunk)
      return true
    }
    if (this.bodyLeft > 0) this.bodyLeft -= chunk.length
    const ok = this.res.write(chunk)
    if (!ok) this.res.once('drain', this.resume as () => void)
    return ok
  }

  onComplete (): void {
    if (!this.res.writableEnded) this.res.end()
    ;(this.ep as Endpoint).active--
    this.#end(this.status)
  }

  onError (err: Error): void {
    const ep = this.ep as Endpoint
    ep.active--
    if (this.clientGone) {
      this.#end(499)
      return
    }
    if (this.responded) {
      this.res.destroy(err)
      this.route.stats.upstreamErrors[classify(err).kind]++
      this.#end(this.status)
      return
    }
    const c = classify(err)
    this.route.stats.upstreamErrors[c.kind]++
    if (c.passive) this.ctx.passive.failure(ep, (err as { code?: string }).code ?? err.message)
    const mayRetry = this.tries < this.ctx.maxTries && this.tries < this.route.balancer.endpoints.length &&
      (c.connectFailure ? !this.req.readableDidRead || !this.hasBody : c.reset && !this.hasBody && isIdempotent(this.req.method))
    if (mayRetry) {
      const next = this.route.balancer.pick()
      if (next !== null && next !== ep) {
        this.send(next)
        return
      }
    }
    sendError(this.res, c.status, `${c.status === 504 ? '504 Gateway Timeout' : '502 Bad Gateway'}: service "${this.route.service}" endpoint ${ep.address} failed (${(err as { code?: string }).code ?? err.message})\n`,
      c.status === 504 ? 'MESH_ERR_UPSTREAM_TIMEOUT' : 'MESH_ERR_UPSTREAM')
    this.route.stats.generated[5]++
    this.#end(c.status)
  }

  /** Every outcome ends here once: duration metric, access log. */
  #end (status: number): void {
    this.done = true
    // Let go of the finished request: the socket is long-lived, a reference from it would keep this one alive.
    const socket = this.req.socket as Sock
    if (socket[kForward] === this) socket[kForward] = this.prevOnSocket
    const seconds = (performance.now() - this.start) / 1000
    this.route.stats.duration.observe(seconds)
    if (this.ctx.accessLog !== null) this.ctx.accessLog.request(this.req, status, this.route.service, (this.ep as Endpoint).address, seconds)
  }
}
