/**
 * The HTTP/2 client side of an L7 listener, on Node's nghttp2 (the C
 * library behind nginx's and curl's HTTP/2, with its flood defences: a
 * client resetting streams faster than 33/s beyond a burst of 1,000 gets
 * GOAWAY, so do clients flooding PING or SETTINGS it must acknowledge).
 * Sockets arrive already accepted: a plain-port connection whose first bytes
 * were the HTTP/2 preface (h2c with prior knowledge), or a TLS connection
 * that chose h2 by ALPN. Each stream is one request, routed, forwarded and
 * counted exactly like an HTTP/1.1 one (Forward); endpoints are spoken to in
 * HTTP/1.1 by undici.
 */
import { constants, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2'
import type { Socket } from 'node:net'
import { createLogger } from '../../util/log'
import { Forward, type ForwardContext, type RouteSource } from '../l7-forward'
import { newRequestInfo, upstreamRequestHeaders, type ForwardingOptions } from '../request-headers'
import { sendError } from '../responses'
import { H2Exchange } from './h2-exchange'

const log = createLogger('http2')
const { NGHTTP2_FLAG_END_STREAM } = constants

export interface H2Options extends ForwardingOptions {
  /** Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxStreams: number
  maxHeaderSize: number
  maxHeaders: number
  /** A session with no stream open for this long is closed (GOAWAY). */
  idleTimeout: number
}

type TrustedSession = ServerHttp2Session & { meshTrusted?: boolean }

/** The connection-level receive window a session gets (the protocol's default is 64 KiB). */
const SESSION_WINDOW = 1024 * 1024

export class H2Front {
  readonly #server: Http2Server
  readonly #source: RouteSource
  readonly #ctx: ForwardContext
  readonly #options: H2Options
  readonly #sessions = new Set<ServerHttp2Session>()
  readonly #info = newRequestInfo()
  /** Streams answered since start (metric). */
  streams = 0

  constructor (source: RouteSource, ctx: ForwardContext, options: H2Options) {
    this.#source = source
    this.#ctx = ctx
    this.#options = options
    this.#server = createServer({
      maxHeaderListPairs: options.maxHeaders + 8, // the pseudo-headers too
      maxSessionMemory: 16,
      settings: { maxConcurrentStreams: options.maxStreams, maxHeaderListSize: options.maxHeaderSize, enablePush: false }
    })
    this.#server.on('session', (session: ServerHttp2Session) => { this.#session(session) })
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]) => { this.#stream(stream, headers, flags, raw) })
    this.#server.on('sessionError', (err: Error) => { log.debug('session error: %s', err.message) })
  }

  /** HTTP/2 sessions open now. */
  get sessions (): number { return this.#sessions.size }

  /** Takes over an accepted socket; `head` holds the bytes already read from it (the preface, for h2c). */
  adopt (socket: Socket, head: Buffer, trusted: boolean): void {
    if (head.length > 0) socket.unshift(head)
    ;(socket as Socket & { meshTrusted?: boolean }).meshTrusted = trusted
    this.#server.emit('connection', socket)
  }

  /** Drain: every session is told GOAWAY; the streams open finish. */
  closeIdle (): void {
    for (const s of this.#sessions) if (!s.closed) s.close()
  }

  closeAll (): void {
    for (const s of this.#sessions) s.destroy()
  }

  #session (session: ServerHttp2Session): void {
    this.#sessions.add(session)
    const socket = session.socket as (Socket & { meshTrusted?: boolean }) | undefined
    ;(session as TrustedSession).meshTrusted = socket?.meshTrusted === true
    session.once('close', () => { this.#sessions.delete(session) })
    session.on('error', (err: Error) => { log.debug('session error: %s', err.message) })
    session.setTimeout(this.#options.idleTimeout, () => { session.close() })
    session.once('connect', () => { session.setLocalWindowSize(SESSION_WINDOW) })
  }

  #stream (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
    this.streams++
    stream.on('error', (err: Error) => { log.debug('stream error: %s', err.message) })
    const method = String(headers[':method'] ?? 'GET')
    const path = String(headers[':path'] ?? '')
    const session = stream.session as TrustedSession | undefined
    const remote = session?.socket?.remoteAddress ?? ''
    const hasBody = (flags & NGHTTP2_FLAG_END_STREAM) === 0
    const ex = new H2Exchange(stream, method, path, remote, hasBody)
    if (method === 'CONNECT') {
      sendError(ex, 405, '405 Method Not Allowed: CONNECT is not proxied\n', null)
      return
    }
    if (path.charCodeAt(0) !== 47) {
      sendError(ex, 400, path === '*' ? '400 Bad Request: OPTIONS * (asterisk-form) is not forwarded\n' : '400 Bad Request: :path must be /path\n', null)
      return
    }
    // HTTP/1.1 upstream: no pseudo-headers, one Cookie line (RFC 9113 8.2.3).
    const plain: string[] = []
    let cookie: string | null = null
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]
      if (name.charCodeAt(0) === 58) continue // ':'
      if (name === 'cookie') { cookie = cookie === null ? raw[i + 1] : `${cookie}; ${raw[i + 1]}`; continue }
      plain.push(name, raw[i + 1])
    }
    if (cookie !== null) plain.push('cookie', cookie)
    const authority = headers[':authority']
    const info = this.#info
    const upstream = upstreamRequestHeaders(plain, remote, session?.meshTrusted === true, typeof authority === 'string' && authority !== '' ? authority : null, this.#options, info)
    if (info.hosts > 1) {
      sendError(ex, 400, '400 Bad Request: more than one Host header\n', null)
      return
    }
    const forward = new Forward(ex, this.#source, this.#ctx, path, upstream, hasBody, info.host)
    stream.once('close', () => { forward.cancel() })
    forward.run()
  }
}
