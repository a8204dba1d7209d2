/**
 * A request to an endpoint that speaks HTTP/2 (a service with `--backend
 * h2c`, or `h2` over TLS): gRPC end to end. One multiplexed session per
 * endpoint (Node's nghttp2 client; undici 7 speaks HTTP/2 only over TLS and
 * relays no trailers); streaming both ways with each stream's flow control
 * as backpressure; trailers (grpc-status) relayed; the client's deadline
 * (grpc-timeout) travels with the request and a client that gives up
 * cancels the upstream stream. A connect failure goes to an endpoint not
 * tried yet, as for HTTP/1.1; a gRPC request that cannot be forwarded is
 * answered the gRPC way (grpc-status 14, UNAVAILABLE).
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { Endpoint } from '../../balancer/endpoint'
import type { Route } from '../../table/routing-table'
import { createLogger } from '../../util/log'
import { classify } from '../errors-map'
import type { Forward } from '../l7-forward'
import { H2Exchange } from './h2-exchange'

const log = createLogger('http2')
const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = constants

/** An idle upstream session is closed after this. */
const SESSION_IDLE_MS = 60_000

/** The endpoint's session, connected on first use and again after it closed. */
function sessionFor (ep: Endpoint, tls: boolean): ClientHttp2Session {
  const open = ep.h2Session
  if (open !== null && !open.closed && !open.destroyed) return open
  // h2 to an endpoint over TLS: the mesh's own tasks, whose certificates are not the public ones.
  const session = connect(`${tls ? 'https' : 'http'}://${ep.address}`, tls ? { rejectUnauthorized: false } : {})
  session.on('error', (err: Error) => { log.debug('session to %s: %s', ep.address, err.message) })
  session.once('close', () => { if (ep.h2Session === session) ep.h2Session = null })
  session.setTimeout(SESSION_IDLE_MS, () => { session.close() })
  ep.h2Session = session
  return session
}

/** The request's HTTP/1.1-style header pairs as HTTP/2 headers. */
function outgoing (f: Forward, tls: boolean): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { ':method': f.ex.method, ':path': f.path, ':scheme': tls ? 'https' : 'http' }
  let grpc = false
  for (let i = 0; i < f.headers.length; i += 2) {
    const name = f.headers[i].toLowerCase()
    const value = f.headers[i + 1]
    if (name === 'host') { h[':authority'] = value; continue }
    if (name === 'content-type' && value.startsWith('application/grpc')) grpc = true
    const prev = h[name]
    h[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value]
  }
  if (grpc) h.te = 'trailers' // gRPC servers expect it (it is dropped as hop-by-hop on the way in)
  return h
}

function rawOf (headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (name.charCodeAt(0) === 58 || value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(v), 'latin1'))
  }
  return raw
}

export class H2Dispatch {
  readonly #f: Forward
  readonly #route: Route
  readonly #tls: boolean
  #up: ClientHttp2Stream | null = null
  #responded = false

  constructor (f: Forward, route: Route) {
    this.#f = f
    this.#route = route
    this.#tls = route.options.backend === 'h2'
  }

  get isGrpc (): boolean {
    for (let i = 0; i < this.#f.headers.length; i += 2) {
      if (this.#f.headers[i].toLowerCase() === 'content-type') return this.#f.headers[i + 1].startsWith('application/grpc')
    }
    return false
  }

  start (ep: Endpoint): void {
    const f = this.#f
    f.ep = ep
    f.tries++
    const session = sessionFor(ep, this.#tls)
    let up: ClientHttp2Stream
    try {
      up = session.request(outgoing(f, this.#tls), { endStream: !f.hasBody })
    } catch (err) {
      this.#failed(ep, err as Error)
      return
    }
    this.#up = up
    const body = f.ex.body
    if (f.hasBody && body !== null) body.pipe(up)
    let trailers: IncomingHttpHeaders | null = null
    up.on('response', (headers: IncomingHttpHeaders, flags: number) => {
      const status = Number(headers[':status'] ?? 502)
      this.#responded = true
      f.ctx.passive.response(ep, status, this.#route.balancer)
      ep.responses[(status / 100) | 0]++
      // A head that ends the stream (gRPC's trailers-only answer, grpc-status in it) must stay one frame.
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0 && f.ex instanceof H2Exchange) f.ex.respondOnly(status, rawOf(headers))
      else f.ex.respondUpstream(status, '', rawOf(headers), true)
    })
    up.on('trailers', (t: IncomingHttpHeaders) => { trailers = t })
    up.on('data', (chunk: Buffer) => {
      if (!f.ex.write(chunk)) {
        up.pause()
        f.ex.onceWritable(() => { up.resume() })
      }
    })
    up.on('end', () => {
      if (trailers !== null && f.ex instanceof H2Exchange) f.ex.setTrailers(rawOf(trailers))
      f.ex.end()
      f.settle(f.ex.status)
    })
    up.on('error', (err: Error) => { this.#failed(ep, err) })
    up.on('close', () => {
      if (!this.#responded && !f.done && up.rstCode !== 0) this.#failed(ep, Object.assign(new Error(`stream reset (${up.rstCode})`), { code: 'ECONNRESET' }))
    })
  }

  cancel (): void {
    const up = this.#up
    if (up !== null && !up.closed) up.close(NGHTTP2_CANCEL)
  }

  #failed (ep: Endpoint, err: Error & { code?: string }): void {
    const f = this.#f
    if (f.done) return
    const c = classify(err)
    this.#route.stats.upstreamErrors[c.kind]++
    if (this.#responded) {
      f.ex.abort()
      f.settle(f.ex.status)
      return
    }
    if (c.passive) f.ctx.passive.failure(ep, err.code ?? err.message)
    if (c.connectFailure && f.tries < f.ctx.maxTries) {
      (f.tried ??= []).push(ep)
      for (let i = this.#route.balancer.available; i > 0; i--) {
        const next = this.#route.balancer.pick()
        if (next !== null && !f.tried.includes(next)) {
          this.start(next)
          return
        }
      }
    }
    const why = `service "${this.#route.service}" endpoint ${ep.address} failed (${err.code ?? err.message})`
    if (this.isGrpc && f.ex instanceof H2Exchange) {
      f.ex.grpcError(14, why) // UNAVAILABLE, as a gRPC client understands it
      f.settle(502)
      return
    }
    f.fail(c.status, `${c.status} Bad Gateway: ${why}\n`, c.status === 504 ? 'MESH_ERR_UPSTREAM_TIMEOUT' : 'MESH_ERR_UPSTREAM')
  }
}
