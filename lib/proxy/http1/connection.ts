/**
 * One client connection of an L7 listener: Node's llhttp parser reads the
 * socket directly (parser.consume: no 'data' events, no IncomingMessage),
 * each request head becomes an Exchange, and exchanges answer strictly in
 * order (pipelined ones wait their turn). Keep-alive, half-close, upgrades
 * and protocol errors are handled here; what to do with a request is the
 * handler's business (the L7 listener).
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Exchange, type ExchangeOwner } from './exchange'
import {
  HTTPParser, METHODS, handleOf, kOnBody, kOnExecute, kOnHeaders, kOnHeadersComplete, kOnMessageComplete,
  type NativeParser, type ParserError
} from './llhttp'
import { PAUSE_BODY, PAUSE_QUEUE, type BodySource } from './request-body'

export interface RequestHandler {
  /** A complete request head, in arrival order; sets `ex.runner` (and `ex.body` when a body follows). */
  onRequest: (ex: Exchange) => void
  /** An Upgrade request: the socket is the handler's from now on. */
  onUpgrade: (ex: Exchange, socket: Socket, head: Buffer) => void
}

/** What the connection needs from its server. */
export interface ConnectionHost {
  readonly handler: RequestHandler
  readonly maxHeaderSize: number
  readonly draining: boolean
  forget: (conn: Http1Connection) => void
}

type ConnParser = NativeParser & { conn: Http1Connection | null }

/** Reading stopped for good (a refused request): never resumed. */
const PAUSE_FOR_GOOD = 4

/** Pipelined requests waiting beyond this many stop reading until the queue shrinks. */
const MAX_QUEUED = 32

/** Parsers are reused across connections, as Node's server does. */
const freeParsers: ConnParser[] = []
const MAX_FREE_PARSERS = 1000
const parserResource = {}

export class Http1Connection implements ExchangeOwner, BodySource {
  readonly socket: Socket
  readonly remoteAddress: string
  readonly #host: ConnectionHost
  #parser: ConnParser | null
  /** The exchange being answered. */
  active: Exchange | null = null
  /** Exchanges read but not started yet (pipelining), oldest first. */
  #queue: Exchange[] | null = null
  /** The exchange the parser is reading now (its body goes there). */
  #reading: Exchange | null = null
  /** Request heads read so far. */
  requests = 0
  /** When the connection was accepted or last became idle (performance.now()). */
  idleSince: number
  #paused = 0
  #consumed = false
  /** No more requests are read: the connection ends after what is queued. */
  #closing = false
  /** A raw response to send, and then close, once earlier exchanges finished (parse error). */
  #finalResponse: string | null = null
  #upgrade: { ex: Exchange, head: Buffer } | null = null
  #headerBuf: string[] | null = null
  #urlBuf = ''
  closed = false

  constructor (socket: Socket, host: ConnectionHost) {
    this.socket = socket
    this.#host = host
    this.remoteAddress = socket.remoteAddress ?? ''
    this.idleSince = performance.now()
    let parser = freeParsers.pop()
    if (parser === undefined) {
      parser = new HTTPParser() as ConnParser
      parser[kOnHeaders] = onHeaders
      parser[kOnHeadersComplete] = onHeadersComplete
      parser[kOnBody] = onBody
      parser[kOnMessageComplete] = onMessageComplete
      parser[kOnExecute] = onExecute
    }
    parser.initialize(HTTPParser.REQUEST, parserResource, host.maxHeaderSize, 0)
    parser.conn = this
    this.#parser = parser
    parser.consume(handleOf(socket))
    this.#consumed = true
    socket.on('end', onSocketEnd)
    socket.on('close', onSocketClose)
    socket.on('error', onSocketError)
    ;(socket as SocketWithConn).conn = this
  }

  get draining (): boolean { return this.#host.draining }
  get parser (): NativeParser | null { return this.#parser }
  get idle (): boolean { return this.active === null }

  // --- parser events ---

  headers (headers: string[], url: string): void {
    if (this.#headerBuf === null) this.#headerBuf = headers
    else for (let i = 0; i < headers.length; i++) this.#headerBuf.push(headers[i])
    this.#urlBuf += url
  }

  head (versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): void {
    if (headers === undefined) {
      headers = this.#headerBuf ?? []
      this.#headerBuf = null
    }
    if (url === undefined) {
      url = this.#urlBuf
      this.#urlBuf = ''
    }
    this.requests++
    const ex = new Exchange(this, METHODS[method] ?? 'GET', url, headers, versionMinor, keepAlive && !this.#closing)
    if (!ex.keepAlive) this.#closing = true
    if (versionMajor !== 1) {
      this.#refuse('505 HTTP Version Not Supported')
      return
    }
    if (upgrade) {
      // llhttp stops at the end of an Upgrade (or CONNECT) head; execute() hands over in onExecute.
      this.#upgrade = { ex, head: EMPTY }
      return
    }
    this.#reading = ex
    this.#host.handler.onRequest(ex)
    if (this.active === null) {
      this.active = ex
      ex.runner?.run()
    } else {
      (this.#queue ??= []).push(ex)
      if (this.#queue.length >= MAX_QUEUED) this.pauseReading(PAUSE_QUEUE)
    }
  }

  bodyChunk (chunk: Buffer): void {
    const ex = this.#reading
    if (ex === null || ex.body === null) return
    if (ex.finished) return // answered already: the rest of the body is read and dropped
    ex.body.feed(chunk)
  }

  messageComplete (): void {
    const ex = this.#reading
    if (ex === null) return
    ex.requestDone = true
    this.#reading = null
    if (ex.body !== null) ex.body.push(null)
  }

  executed (ret: number | ParserError): void {
    if (typeof ret !== 'number') {
      this.#parseError(ret)
      return
    }
    const up = this.#upgrade
    if (up === null || up.head !== EMPTY) return
    const parser = this.#parser as ConnParser
    parser.unconsume()
    this.#consumed = false
    const data = parser.getCurrentBuffer()
    up.head = data.subarray(ret)
    this.#releaseParser()
    if (up.ex.method === 'CONNECT') {
      this.#upgrade = null
      this.#refuse('405 Method Not Allowed') // a reverse proxy does not tunnel
      return
    }
    this.#closing = true
    if (this.active === null) this.#handOver()
  }

  // --- exchanges ---

  exchangeDone (ex: Exchange): void {
    if (ex !== this.active) return
    this.active = null
    if (!ex.keepAlive) {
      this.#closing = true
      this.#queue = null
      this.socket.destroySoon()
      return
    }
    // The response went out before the request body finished: keep reading it (and dropping it)
    // so the next request is found.
    if (ex.body !== null && !ex.requestDone) this.resumeReading(PAUSE_BODY)
    const next = this.#queue?.shift()
    if (next !== undefined) {
      if ((this.#queue as Exchange[]).length < MAX_QUEUED / 2) this.resumeReading(PAUSE_QUEUE)
      this.active = next
      next.runner?.run()
      return
    }
    this.idleSince = performance.now()
    if (this.#finalResponse !== null) {
      this.#sendFinal()
      return
    }
    if (this.#upgrade !== null) {
      this.#handOver()
      return
    }
    if (this.#closing) this.socket.destroySoon()
  }

  pauseReading (reason: number): void {
    if (this.#paused === 0) handleOf(this.socket)?.readStop()
    this.#paused |= reason
  }

  resumeReading (reason: number): void {
    if ((this.#paused & reason) === 0) return
    this.#paused &= ~reason
    if (this.#paused === 0 && !this.closed && this.#parser !== null) handleOf(this.socket)?.readStart()
  }

  /** Timeouts (from the server's sweep): answers 408 when nothing is being answered, else cuts. */
  timeout (): void {
    if (this.active === null) this.#refuse('408 Request Timeout')
    else this.socket.destroy()
  }

  /** Closes a keep-alive connection with nothing in flight (idle timeout, drain). */
  closeIfIdle (): void {
    if (this.active !== null || this.closed) return
    this.#closing = true
    this.socket.destroySoon()
  }

  // --- socket events ---

  ended (): void {
    // The client shut its side: like Node's server (and nginx), what it asked and has not been
    // answered yet is abandoned, so a client that leaves mid-response frees the upstream at once.
    if (this.active !== null || this.#reading !== null) {
      this.socket.destroy()
      return
    }
    this.#closing = true
    this.socket.end()
  }

  socketClosed (): void {
    this.closed = true
    const active = this.active
    this.active = null
    if (active !== null) {
      active.body?.destroy()
      active.runner?.cancel()
    }
    if (this.#queue !== null) for (const ex of this.#queue) ex.body?.destroy()
    this.#queue = null
    this.#reading = null
    this.#releaseParser()
    this.#host.forget(this)
  }

  #parseError (err: ParserError): void {
    if (this.#closing && this.#upgrade === null) return // data after a request that closes the connection: ignored
    const reading = this.#reading
    if (reading !== null) {
      reading.body?.destroy(err)
      if (reading === this.active) {
        // The request being forwarded has a malformed body: stop it upstream and answer 400
        // ourselves (not a 502 blaming the endpoint). After a response began, only a cut is honest.
        this.active = null
        reading.runner?.cancel()
        if (reading.responseStarted) {
          this.#closing = true
          this.socket.destroy()
          return
        }
      }
    }
    this.#refuse(err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request')
  }

  /** Answers `statusLine` and closes, once the exchanges before it are answered; reads nothing more. */
  #refuse (statusLine: string): void {
    this.#closing = true
    this.#reading = null
    this.pauseReading(PAUSE_FOR_GOOD)
    this.#finalResponse = `HTTP/1.1 ${statusLine}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`
    if (this.active === null) this.#sendFinal()
  }

  #sendFinal (): void {
    this.socket.end(this.#finalResponse ?? '')
    this.socket.destroySoon()
  }

  #handOver (): void {
    const up = this.#upgrade as { ex: Exchange, head: Buffer }
    this.#upgrade = null
    const socket = this.socket
    socket.off('end', onSocketEnd)
    socket.off('close', onSocketClose)
    socket.off('error', onSocketError)
    ;(socket as SocketWithConn).conn = null
    this.closed = true
    this.#host.forget(this)
    ;(socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null
    this.#host.handler.onUpgrade(up.ex, socket, up.head)
  }

  #releaseParser (): void {
    const parser = this.#parser
    if (parser === null) return
    this.#parser = null
    if (this.#consumed) parser.unconsume()
    this.#consumed = false
    parser.conn = null
    this.#headerBuf = null
    parser.remove()
    if (freeParsers.length < MAX_FREE_PARSERS) freeParsers.push(parser)
    else setImmediate(closeParser, parser) // not from inside its own callback
  }
}

const EMPTY = Buffer.alloc(0)

function closeParser (parser: NativeParser): void {
  parser.close()
}

type SocketWithConn = Socket & { conn: Http1Connection | null }

// Parser callbacks: `this` is the parser (no per-connection closures).
function onHeaders (this: ConnParser, headers: string[], url: string): void {
  this.conn?.headers(headers, url)
}

function onHeadersComplete (this: ConnParser, versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, url: string | undefined,
  _statusCode: unknown, _statusMessage: unknown, upgrade: boolean, keepAlive: boolean): number {
  this.conn?.head(versionMajor, versionMinor, headers, method, url, upgrade, keepAlive)
  return 0
}

function onBody (this: ConnParser, chunk: Buffer): void {
  this.conn?.bodyChunk(chunk)
}

function onMessageComplete (this: ConnParser): void {
  this.conn?.messageComplete()
}

function onExecute (this: ConnParser, ret: number | ParserError): void {
  this.conn?.executed(ret)
}

function onSocketEnd (this: SocketWithConn): void {
  this.conn?.ended()
}

function onSocketClose (this: SocketWithConn): void {
  this.conn?.socketClosed()
}

function onSocketError (): void {}
