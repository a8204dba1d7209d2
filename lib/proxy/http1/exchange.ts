/**
 * One request/response exchange on a client connection: what was asked
 * (method, url, raw headers, version, keep-alive, body) and the framing of
 * the answer. The response head is held until the first body chunk so head
 * and chunk leave in one writev; bodies without Content-Length are chunked
 * to HTTP/1.1 clients and close-delimited to HTTP/1.0 ones.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { BodySource, RequestBody } from './request-body'

/** What the connection starts when an exchange becomes its active one (responses go out in order). */
export interface Runner {
  run: () => void
  /** The client went away: stop whatever is in flight. */
  cancel: () => void
}

/** The connection side an exchange needs (implemented by Http1Connection). */
export interface ExchangeOwner extends BodySource {
  readonly socket: Socket
  readonly remoteAddress: string
  /** Set while the node drains: answers say Connection: close. */
  readonly draining: boolean
  exchangeDone: (ex: Exchange) => void
}

const CRLF = '\r\n'
const LAST_CHUNK = '0\r\n\r\n'

export class Exchange {
  readonly owner: ExchangeOwner
  readonly method: string
  readonly url: string
  readonly rawHeaders: string[]
  readonly versionMinor: number
  /** Whether the connection stays open after this exchange. */
  keepAlive: boolean
  body: RequestBody | null = null
  /** The whole request (head and body) has been read. */
  requestDone = false
  runner: Runner | null = null
  /** A 100-continue expectation to answer when the exchange starts. */
  expectContinue = false
  readonly start: number
  /** Status sent to the client (0 until a response began). */
  status = 0
  /** Response head not written yet ('' once written). */
  #head = ''
  #chunked = false
  #noBody = false
  finished = false

  constructor (owner: ExchangeOwner, method: string, url: string, rawHeaders: string[], versionMinor: number, keepAlive: boolean) {
    this.owner = owner
    this.method = method
    this.url = url
    this.rawHeaders = rawHeaders
    this.versionMinor = versionMinor
    this.keepAlive = keepAlive
    this.start = performance.now()
  }

  get httpVersion (): string { return this.versionMinor === 0 ? '1.0' : '1.1' }
  get remoteAddress (): string { return this.owner.remoteAddress }
  get responseStarted (): boolean { return this.status !== 0 }

  /**
   * Starts the response. `headers` are ready `name: value\r\n` lines;
   * `contentLength` is the body length the headers declare, or -1.
   */
  respond (status: number, statusText: string, headers: string, contentLength: number): void {
    this.status = status
    this.#noBody = this.method === 'HEAD' || status === 204 || status === 304
    let framing = ''
    if (!this.#noBody && contentLength < 0) {
      if (this.versionMinor >= 1) {
        framing = 'transfer-encoding: chunked\r\n'
        this.#chunked = true
      } else {
        this.keepAlive = false // HTTP/1.0: the body ends when the connection does
      }
    }
    if (this.owner.draining) this.keepAlive = false
    const connection = !this.keepAlive ? 'connection: close\r\n' : this.versionMinor === 0 ? 'connection: keep-alive\r\n' : ''
    this.#head = `HTTP/1.1 ${status} ${statusText}\r\n${headers}${framing}${connection}\r\n`
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
    this.respond(status, statusText, `content-type: text/plain; charset=utf-8\r\ncontent-length: ${length}\r\n${extra}date: ${new Date().toUTCString()}\r\n`, length)
    if (length > 0 && !this.#noBody) this.write(Buffer.from(body))
    this.end()
  }

  /** The response cannot be completed: the client must see the connection cut, not a short body. */
  abort (): void {
    this.finished = true
    this.owner.socket.destroy()
  }
}
