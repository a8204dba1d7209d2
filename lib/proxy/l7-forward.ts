/**
 * One proxied HTTP request: an undici dispatch handler (legacy raw-header
 * API: no header parsing, no stream wrappers) streaming the response into
 * the client's exchange with backpressure. Fixed shape, no closures.
 *
 * The route is looked up when the request's turn comes (pipelined requests
 * wait for earlier answers), so a request always follows the port's current
 * table, never one that left it.
 *
 * Admission: an endpoint dispatches at most proxy.upstreamConnections
 * requests at once; the rest wait in its bounded queue (Endpoint.admit), and
 * a wait longer than proxy.queueTimeout is answered 503 MESH_ERR_QUEUE_TIMEOUT.
 *
 * Retry: a request whose connect failed goes to an endpoint it has not
 * tried yet (nothing was sent, any method); a request whose connection broke
 * before any response is retried the same way when idempotent and bodiless.
 * Never after a response began.
 */
import { performance } from 'node:perf_hooks'
import { STATUS_CODES } from 'node:http'
import { ADMITTED, QUEUED, type Endpoint } from '../balancer/endpoint'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Waiter } from '../balancer/wait-queue'
import { ERR_QUEUE } from '../metrics/route-stats'
import type { Route } from '../table/routing-table'
import { classify, isIdempotent } from './errors-map'
import { sendError } from './responses'
import type { AccessLog } from './access-log'
import type { ClientSide } from './client-side'
import type { Runner } from './http1/exchange'
import { H2Dispatch } from './http2/h2-dispatch'

export interface ForwardContext {
  passive: PassiveHealth
  maxTries: number
  /** Set once at shutdown: responses say Connection: close so keep-alive clients leave. */
  draining: boolean
  /** null when the access log is off. */
  accessLog: AccessLog | null
}

/** Where a request finds its route when its turn comes (the listener of its port). */
export interface RouteSource {
  readonly port: number
  /** The port speaks plain HTTP (a route with redirectHttps sends such requests to HTTPS). */
  readonly plain: boolean
  /** The route for a Host value; null when none matches (or the port left the table). */
  route: (host: string | null) => Route | null
  /** The answer when no route matches. */
  noRoute: (ex: ClientSide, host: string | null) => void
}

const CLIENT_GONE = 'client closed the connection'

export class Forward implements Runner, Waiter {
  readonly ex: ClientSide
  readonly source: RouteSource
  readonly ctx: ForwardContext
  readonly path: string
  readonly headers: string[]
  readonly hasBody: boolean
  readonly host: string | null
  route: Route | null = null
  ep: Endpoint | null = null
  /** Endpoints that failed this request (only once it retried). */
  tried: Endpoint[] | null = null
  tries = 0
  /** Holds one of `ep`'s admission slots (released when the upstream request ends). */
  holding = false
  /** Waiting in `ep`'s queue. */
  waiting = false
  responded = false
  done = false
  clientGone = false
  abort: ((err?: Error) => void) | null = null
  resume: (() => void) | null = null
  /** The route speaks HTTP/2 to its endpoints: this request goes that way. */
  h2: H2Dispatch | null = null

  constructor (ex: ClientSide, source: RouteSource, ctx: ForwardContext, path: string, headers: string[], hasBody: boolean, host: string | null) {
    this.ex = ex
    this.source = source
    this.ctx = ctx
    this.path = path
    this.headers = headers
    this.hasBody = hasBody
    this.host = host
  }

  /** Starts the exchange: the port's current route, the next endpoint in its round robin, or an error. */
  run (): void {
    const route = this.source.route(this.host)
    if (route === null) {
      this.done = true
      this.source.noRoute(this.ex, this.host)
      if (this.ctx.accessLog !== null) this.ctx.accessLog.request(this.ex, this.ex.status, '-', '-', (performance.now() - this.ex.start) / 1000)
      return
    }
    this.route = route
    if (route.options.redirectHttps && this.source.plain) {
      this.done = true
      this.ex.sendRedirect(`https://${hostname(this.host ?? '')}${this.path}`) // to the standard HTTPS port
      if (this.ctx.accessLog !== null) this.ctx.accessLog.request(this.ex, 308, route.service, '-', (performance.now() - this.ex.start) / 1000)
      return
    }
    const ep = route.balancer.pick()
    if (ep === null) {
      this.fail(503, route.unavailableBody, 'MESH_ERR_NO_HEALTHY_ENDPOINT')
      return
    }
    if (route.options.backend !== 'http1') {
      this.h2 = new H2Dispatch(this, route)
      this.h2.start(ep)
      return
    }
    this.#try(ep)
  }

  /**
   * The client left: a queued request leaves the queue; a dispatched one is
   * aborted (undici destroys its upstream connection; undici 7 then opens one
   * spare connection to the endpoint, nodejs/undici#5845, reused or reaped
   * after upstreamKeepAlive).
   */
  cancel (): void {
    if (this.done) return
    this.clientGone = true
    if (this.h2 !== null) {
      this.h2.cancel()
      this.settle(499)
      return
    }
    if (this.waiting) {
      this.waiting = false;
      (this.ep as Endpoint).withdraw(this)
      this.settle(499, false)
      return
    }
    if (this.abort !== null) this.abort(new Error(CLIENT_GONE))
  }

  #try (ep: Endpoint): void {
    this.ep = ep
    this.tries++
    switch (ep.admit(this)) {
      case ADMITTED: this.#dispatch(); return
      case QUEUED: this.waiting = true; return
      default:
        (this.route as Route).stats.upstreamErrors[ERR_QUEUE]++
        this.fail(503, `503 Service Unavailable: service "${(this.route as Route).service}" endpoint ${ep.address} has ${ep.queued} requests waiting already\n`, 'MESH_ERR_QUEUE_FULL')
    }
  }

  // --- Waiter (the endpoint's queue) ---

  admitted (): void {
    this.waiting = false
    this.#dispatch()
  }

  expired (): void {
    this.waiting = false
    const route = this.route as Route
    route.stats.upstreamErrors[ERR_QUEUE]++
    this.fail(503, `503 Service Unavailable: no connection to service "${route.service}" endpoint ${(this.ep as Endpoint).address} became free in time\n`, 'MESH_ERR_QUEUE_TIMEOUT')
  }

  #dispatch (): void {
    const ep = this.ep as Endpoint
    this.holding = true
    this.abort = null
    this.ex.sendContinue()
    ep.pool.dispatch({
      path: this.path,
      method: this.ex.method,
      headers: this.headers,
      body: this.hasBody ? this.ex.body : null
    }, this)
  }

  #releaseSlot (): void {
    if (!this.holding) return
    this.holding = false;
    (this.ep as Endpoint).release()
  }

  // --- undici handler ---

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.clientGone) abort(new Error(CLIENT_GONE))
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true // 1xx interim responses are not forwarded
    const ep = this.ep as Endpoint
    this.ctx.passive.response(ep, statusCode, (this.route as Route).balancer)
    this.responded = true
    this.resume = resume
    this.ex.respondUpstream(statusCode, statusText !== '' ? statusText : STATUS_CODES[statusCode] ?? '', rawHeaders)
    ep.responses[(statusCode / 100) | 0]++
    return true
  }

  onData (chunk: Buffer): boolean {
    const ok = this.ex.write(chunk)
    // false pauses the upstream until the client socket drains.
    if (!ok) this.ex.onceWritable(this.resume as () => void)
    return ok
  }

  onComplete (): void {
    this.#releaseSlot()
    this.ex.end()
    this.settle(this.ex.status)
  }

  onError (err: Error): void {
    this.#releaseSlot()
    const ep = this.ep as Endpoint
    const route = this.route as Route
    if (this.clientGone) {
      this.settle(499)
      return
    }
    const c = classify(err)
    route.stats.upstreamErrors[c.kind]++
    if (this.responded) {
      this.ex.abort()
      this.settle(this.ex.status)
      return
    }
    const code = (err as { code?: string }).code ?? err.message
    if (c.passive) this.ctx.passive.failure(ep, code)
    const body = this.ex.body
    const mayRetry = this.tries < this.ctx.maxTries && this.tries < route.balancer.endpoints.length &&
      (c.connectFailure ? body === null || !body.readableDidRead : c.reset && !this.hasBody && isIdempotent(this.ex.method))
    if (mayRetry) {
      (this.tried ??= []).push(ep)
      const next = this.#untried(route)
      if (next !== null) {
        this.#try(next)
        return
      }
    }
    const timeout = c.status === 504
    this.fail(c.status, `${c.status} ${STATUS_CODES[c.status] ?? ''}: service "${route.service}" endpoint ${ep.address} failed (${code})\n`,
      timeout ? 'MESH_ERR_UPSTREAM_TIMEOUT' : c.status === 503 ? 'MESH_ERR_LOCAL_RESOURCES' : 'MESH_ERR_UPSTREAM')
  }

  /** The next endpoint in the round robin this request has not tried, or null. */
  #untried (route: Route): Endpoint | null {
    const tried = this.tried as Endpoint[]
    for (let i = route.balancer.available; i > 0; i--) {
      const ep = route.balancer.pick()
      if (ep !== null && !tried.includes(ep)) return ep
    }
    return null
  }

  /** An answer of our own (the request was not, or could not be, forwarded). */
  fail (status: number, body: string, code: string): void {
    (this.route as Route).stats.generated[(status / 100) | 0]++
    sendError(this.ex, status, body, code)
    this.settle(status, this.tries > 0)
  }

  /** Every outcome ends here once: duration metric (the route's, and the endpoint's for the dashboard's p99), access log. */
  settle (status: number, forwarded = true): void {
    this.done = true
    const seconds = (performance.now() - this.ex.start) / 1000
    const route = this.route as Route
    if (forwarded) { route.stats.duration.observe(seconds); this.ep?.duration.observe(seconds) }
    if (this.ctx.accessLog !== null) this.ctx.accessLog.request(this.ex, status, route.service, this.ep?.address ?? '-', seconds)
  }
}

/** A Host value without its port (`a.local:8080` -> `a.local`, `[::1]:80` -> `[::1]`). */
function hostname (host: string): string {
  const colon = host.lastIndexOf(':')
  return colon !== -1 && host.indexOf(']') < colon ? host.slice(0, colon) : host
}
