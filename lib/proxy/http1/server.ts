/**
 * The L7 listener's server: a net.Server whose connections are parsed by
 * Http1Connection. Client timeouts are enforced by a periodic sweep over the
 * connections (like Node's own checkConnections), not by timers re-armed per
 * request; one timer sweeps every server of the process (a node may publish
 * hundreds of ports):
 *   - headersTimeout: a request head must arrive whole within it (408);
 *   - requestTimeout: head and body within it (408, or the connection is cut
 *     when an answer already began); 0 = no limit;
 *   - sendTimeout: a client that takes none of the bytes written to it for
 *     this long is cut (its upstream request is aborted with it);
 *   - idleTimeout: a keep-alive connection with nothing in flight is closed.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { ConnectionLimit } from '../connection-limit'
import type { TrustedProxies } from '../trusted-proxies'
import { readProxyHeader } from '../proxy-protocol'
import { Http1Connection, type ConnectionHost, type RequestHandler } from './connection'
import { handleOf } from './llhttp'

export interface Http1Options {
  maxHeaderSize: number
  maxHeaders: number
  headersTimeout: number
  requestTimeout: number
  idleTimeout: number
  sendTimeout: number
}

/** What the server shares with the rest of the node. */
export interface Http1Shared {
  /** The node drains (SIGTERM). */
  readonly draining: boolean
  readonly limit: ConnectionLimit
  readonly trusted: TrustedProxies
}

/** Connections cut by each client timeout (metric). */
export interface ClientTimeouts { head: number, request: number, send: number }

export class Http1Server implements ConnectionHost {
  readonly server: Server
  readonly handler: RequestHandler
  readonly maxHeaderSize: number
  readonly maxHeaders: number
  readonly #options: Http1Options
  readonly #shared: Http1Shared
  readonly #connections = new Set<Http1Connection>()
  /** How often this server's timeouts need checking (ms). */
  readonly sweepMs: number
  readonly timeouts: ClientTimeouts = { head: 0, request: 0, send: 0 }
  /** The port left the table: connections close after the exchange in flight. */
  #retired = false

  /** `external`: a server of another kind (TLS) that hands its connections to accept(); else a plain one. */
  constructor (options: Http1Options, handler: RequestHandler, shared: Http1Shared, external: Server | null = null) {
    this.#options = options
    this.handler = handler
    this.maxHeaderSize = options.maxHeaderSize
    this.maxHeaders = options.maxHeaders
    this.#shared = shared
    // allowHalfOpen: a client's FIN must not end our side before its answer is written.
    this.server = external ?? createServer({ allowHalfOpen: true, noDelay: true }, (socket) => { this.accept(socket) })
    const shortest = Math.min(options.headersTimeout, options.idleTimeout, options.sendTimeout, options.requestTimeout > 0 ? options.requestTimeout : Infinity)
    this.sweepMs = Math.min(1000, Math.max(25, shortest / 10))
    swept.add(this)
    reschedule()
    this.server.once('close', () => { swept.delete(this); reschedule() })
  }

  get draining (): boolean { return this.#retired || this.#shared.draining }
  get connections (): number { return this.#connections.size }

  forget (conn: Http1Connection): void {
    this.#connections.delete(conn)
  }

  /** The port is no longer published here: every connection closes once its exchange in flight is answered. */
  retire (): void {
    this.#retired = true
    this.closeIdle()
  }

  /** Closes the connections that have nothing in flight. */
  closeIdle (): void {
    for (const c of this.#connections) c.closeIfIdle()
  }

  closeAll (): void {
    for (const c of this.#connections) c.socket.destroy()
  }

  /** A client connection, accepted (and for TLS, through its handshake). */
  accept (socket: Socket): void {
    if (socket.remoteAddress === undefined || handleOf(socket) === null) {
      socket.destroy() // already gone
      return
    }
    if (!this.#shared.limit.admit(socket)) return
    const trusted = this.#shared.trusted
    if (!trusted.has(socket.remoteAddress)) {
      this.#connections.add(new Http1Connection(socket, this, false))
      return
    }
    // A balancer in front may open with a PROXY header naming the real client (whose own headers are
    // then not believed), or speak HTTP itself.
    readProxyHeader(socket, this.#options.headersTimeout, (source, rest) => {
      if (socket.destroyed) return
      const peer = source?.address ?? null
      this.#connections.add(new Http1Connection(socket, this, peer === null || trusted.has(peer), rest, peer))
    })
  }

  /** Times out what overstayed (called by the shared sweep). */
  sweep (now: number): void {
    const { headersTimeout, requestTimeout, idleTimeout, sendTimeout } = this.#options
    for (const c of this.#connections) {
      const parser = c.parser
      if (parser === null || c.closed) continue
      const pending = c.socket.writableLength
      if (pending === 0) {
        c.sendMark = 0
      } else if (pending !== c.sendMark) {
        c.sendMark = pending
        c.sendSince = now
      } else if (now - c.sendSince > sendTimeout) {
        this.timeouts.send++
        c.socket.destroy()
        continue
      }
      if (c.requests === 0 || !parser.headersCompleted()) {
        // A head is on its way (or none came yet on a new connection).
        const age = c.requests === 0 ? now - c.idleSince : parser.duration()
        if (age > headersTimeout) {
          this.timeouts.head++
          c.timeout()
        }
        continue
      }
      const inMessage = parser.duration()
      if (inMessage > 0) {
        if (requestTimeout > 0 && inMessage > requestTimeout) {
          this.timeouts.request++
          c.timeout()
        }
        continue
      }
      if (c.idle && now - c.idleSince > idleTimeout) c.closeIfIdle()
    }
  }
}

const swept = new Set<Http1Server>()
let sweepTimer: NodeJS.Timeout | null = null
let sweepEvery = 0

/** Keeps one timer running at the shortest period any server needs (none when no server is left). */
function reschedule (): void {
  let ms = Infinity
  for (const s of swept) ms = Math.min(ms, s.sweepMs)
  if (sweepTimer !== null && ms === sweepEvery) return
  if (sweepTimer !== null) clearInterval(sweepTimer)
  sweepTimer = null
  if (swept.size === 0) return
  sweepEvery = ms
  sweepTimer = setInterval(sweepAll, ms)
  sweepTimer.unref()
}

function sweepAll (): void {
  const now = performance.now()
  for (const s of swept) s.sweep(now)
}
