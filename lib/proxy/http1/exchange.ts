/**
 * One request/response exchange on a client connection: what was asked
 * (method, target, raw headers, version, keep-alive, body) and the framing of
 * the answer. The framing header of a response is always ours, exactly one
 * of them: `content-length: N` when the length is known, else chunked to
 * HTTP/1.1 clients and close-delimited to HTTP/1.0 ones; an upstream's own
 * Content-Length / Transfer-Encoding lines never reach the client (so the
 * client never gets both). The response head is held until the first body
 * chunk so head and chunk leave in one writev.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { ClientSide } from '../client-side'
import { downstreamResponseHead, type ResponseInfo } from '../response-headers'
import type { BodySource, RequestBody } from './request-body'

/** What the connection starts when an exchange becomes its active one (responses go out in order). */
export interface Runner {
  run: () => void
  /** The client went away: stop whatever is in flight. */
  cancel: () => void
}

/** A client socket taken over for a tunnel (101 Switching Protocols), with the bytes read past the request. */
export interface TakenSocket { socket: Socket, head: Buffer }

/** The connection side an exchange needs (implemented by Http1Connection). */
export interface ExchangeOwner extends BodySource {
  readonly socket: Socket
  readonly remoteAddress: string
  /** The peer is in proxy.trustedProxies: its forwarding headers are kept and appended to. */
  readonly trusted: boolean
  /** Set while the node drains or the port's listener closed: answers say Connection: close. */
  readonly draining: boolean
  exchangeDone: (ex: Exchange) => void
  /** Hands the socket over to a tunnel once `ex` (a tunnel request) was answered 101. */
  takeOver: (ex: Exchange) => TakenSocket
}

const CRLF = '\r\n'
const LAST_CHUNK = '0\r\n\r\n'
const responseInfo: ResponseInfo = { contentLength: -1 }

export class Exchange implements ClientSide {
  readonly owner: ExchangeOwner
  readonly method: string
  /** The request target as received (origin-form, absolute-form, or `*`). */
  readonly url: string
  readonly rawHeaders: string[]
  readonly versionMinor: number
  /** llhttp saw `Upgrade` with `Connection: upgrade`: the parser stops after this message. */
  readonly upgrade: boolean
  /** Whether the connection stays open after this exchange. */
  keepAlive: boolean
  /** The handler turns this request into a tunnel (WebSocket): nothing is read past it. */
  tunnel = false
  body: RequestBody | null = null
  /** The whole request (head and body) has been read. */
  requestDone = false
  runner: Runner | null = null
  /** The request expects 100 Continue before it sends its body. */
  expectContinue = false
  #continued = false
  readonly start: number
  /** Status sent to the client (0 until a response began). */
  status = 0
  /** Response head not written yet ('' once written). */
  #head = ''
  #chunked = false
  #noBody = false
  finished = false

  constructor (owner: ExchangeOwner, method: string, url: string, rawHeaders: string[], versionMinor: number, keepAlive: boolean, upgrade: boolean) {
    this.owner = owner
    this.method = method
    this.url = url
    this.rawHeaders = rawHeaders
    this.versionMinor = versionMinor
    this.keepAlive = keepAlive
    this.upgrade = upgrade
    this.start = performance.now()
  }

  get httpVersion (): string { return this.versionMinor === 0 ? '1.0' : '1.1' }
  get remoteAddress (): string { return this.owner.remoteAddress }
  get responseStarted (): boolean { return this.status !== 0 }

  /**
   * Starts the response. `headers` are ready `name: value\r\n` lines without
   * any framing header; `contentLength` is the body length, or -1 when unknown.
   */
  respond (status: number, statusText: string, headers: string, contentLength: number): void {
    this.status = status
    this.#noBody = this.method === 'HEAD' || status === 204 || status === 304
    let framing = ''
    if (contentLength >= 0) {
      // A HEAD or 304 answer keeps the length of the representation; 204 has none (RFC 9110 8.6).
      if (status !== 204) framing = `content-length: ${contentLength}\r\n`
    } else if (!this.#noBody) {
      if (this.versionMinor >= 1) {
        framing = 'transfer-encoding: chunked\r\n'
        this.#chunked = true
      } else {
        this.keepAlive = false // HTTP/1.0: the body ends when the connection does
      }
    }
    if (this.owner.draining) this.keepAlive = false
    // Answered without ever saying 100 Continue: the client may or may not send its body now, so the
    // connection cannot tell where the next request starts. It closes (RFC 9110 10.1.1).
    if (this.expectContinue && !this.#continued) this.keepAlive = false
    const connection = !this.keepAlive ? 'connection: close\r\n' : this.versionMinor === 0 ? 'connection: keep-alive\r\n' : ''
    this.#head = `HTTP/1.1 ${status} ${statusText}\r\n${headers}${framing}${connection}\r\n`
  }

  /** Tells a client that expects it to send its body now (once). */
  sendContinue (): void {
    if (!this.expectContinue || this.#continued) return
    this.#continued = true
    this.owner.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
  }

  /** Starts the response from an upstream head: hop-by-hop and framing lines out, our framing in. */
  /** (HTTP/1.1 responses carry no trailers from an HTTP/2 upstream: they are dropped.) */
  respondUpstream (status: number, statusText: string, rawHeaders: Buffer[]): void {
    const head = downstreamResponseHead(rawHeaders, responseInfo)
    this.respond(status, statusText, head, responseInfo.contentLength)
  }

  onceWritable (resume: () => void): void {
    this.owner.socket.once('drain', resume)
  }

  /** Writes a body chunk (with the head, the first time); false when the client is slow. */
  write (chunk: Buffer): boolean {
    if (this.#noBody) return true
    const socket = this.owner.socket
    socket.cork()
    if (this.#head !== '') {
      socket.write(this.#head, 'latin1')
      this.#head = ''
    }
    let ok: boolean
    if (this.#chunked) {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
      socket.write(chunk)
      ok = socket.write(CRLF, 'latin1')
    } else {
      ok = socket.write(chunk)
    }
    socket.uncork()
    return ok
  }

  /** The response is complete. */
  end (): void {
    if (this.finished) return
    const socket = this.owner.socket
    if (this.#head !== '') {
      socket.write(this.#chunked ? this.#head + LAST_CHUNK : this.#head, 'latin1')
      this.#head = ''
    } else if (this.#chunked) {
      socket.write(LAST_CHUNK, 'latin1')
    }
    this.finished = true
    this.owner.exchangeDone(this)
  }

  /**
   * A whole response written by the proxy itself (errors). After a response
   * began, the only honest signal left is to cut the connection.
   */
  sendText (status: number, statusText: string, body: string, code: string | null, close = false): void {
    if (this.finished) return
    if (this.responseStarted) {
      this.abort()
      return
    }
    if (close) this.keepAlive = false
    const length = Buffer.byteLength(body)
    const extra = code === null ? '' : `x-mesh-error: ${code}\r\n`
    this.respond(status, statusText, `content-type: text/plain; charset=utf-8\r\n${extra}date: ${new Date().toUTCString()}\r\n`, length)
    if (length > 0 && !this.#noBody) this.write(Buffer.from(body))
    this.end()
  }

  sendRedirect (location: string): void {
    if (this.finished || this.responseStarted) return
    const body = `308 Permanent Redirect: ${location}\n`
    this.respond(308, 'Permanent Redirect', `location: ${location}\r\ncontent-type: text/plain; charset=utf-8\r\n`, Buffer.byteLength(body))
    this.write(Buffer.from(body))
    this.end()
  }

  /**
   * The upstream switched protocols: writes its 101 head (`headers`: ready
   * lines, Connection and Upgrade included) and hands the socket over.
   */
  switchProtocols (headers: string): TakenSocket {
    this.status = 101
    this.finished = true
    const taken = this.owner.takeOver(this)
    taken.socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headers}\r\n`, 'latin1')
    return taken
  }

  /** The response cannot be completed: the client must see the connection cut, not a short body. */
  abort (): void {
    this.finished = true
    this.owner.socket.destroy()
  }
}
