/**
 * One client connection of an L7 listener: Node's llhttp parser reads the
 * socket directly (parser.consume: no 'data' events, no IncomingMessage),
 * each request head becomes an Exchange, and exchanges answer strictly in
 * order (pipelined ones wait their turn).
 *
 * Reading a message is a small state machine (RX_IDLE -> RX_HEAD -> RX_BODY
 * -> RX_IDLE), each step in one place: the first header lines of a message
 * start it (`headers`), `headComplete` turns the head into an Exchange,
 * `endMessage` (llhttp's message-complete) ends it and resets everything a
 * message collects. Header lines that arrive in RX_BODY (a chunked body's
 * trailers) are dropped there: they are never merged into the next request.
 * (No message-begin callback: it would cost a call into JS per request for
 * what endMessage already guarantees.)
 *
 * Reading is gated: the socket is read and the parser runs only while no
 * pause reason is set (the request body's consumer is full, MAX_PIPELINE
 * requests wait their turn, the client is not reading what we write, or the
 * connection refused a request). The parser also stops itself right after a
 * head when a reason is set (llhttp HPE_PAUSED), so a single read holding
 * thousands of pipelined requests does not turn into thousands of exchanges;
 * what it has not parsed is kept (at most one read) and parsed when the gate
 * opens. Whatever produced the bytes (a forwarded body or a generated 404),
 * the next exchange starts only once the socket's write buffer is below its
 * high-water mark, so memory per connection stays bounded whatever the
 * client sends.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Exchange, type ExchangeOwner, type TakenSocket } from './exchange'
import {
  HTTPParser, METHODS, PAUSE_PARSER, handleOf, kOnBody, kOnExecute, kOnHeaders, kOnHeadersComplete,
  kOnMessageComplete, type NativeParser, type ParserError
} from './llhttp'
import { PAUSE_BODY, type BodySource } from './request-body'

export interface RequestHandler {
  /** A complete request head, in arrival order; sets `ex.runner` (and `ex.body`, `ex.tunnel`). */
  onRequest: (ex: Exchange) => void
  /**
   * The connection opened with the HTTP/2 preface (h2c, prior knowledge): the
   * socket is the handler's from now on, `head` the bytes read so far (the
   * preface included). Absent: such a connection gets 505.
   */
  onPreface?: (socket: Socket, head: Buffer, trusted: boolean) => void
}

/** What the connection needs from its server. */
export interface ConnectionHost {
  readonly handler: RequestHandler
  readonly maxHeaderSize: number
  /** Request header lines allowed per head (431 beyond). */
  readonly maxHeaders: number
  readonly draining: boolean
  forget: (conn: Http1Connection) => void
}

type ConnParser = NativeParser & { conn: Http1Connection | null }

/** Why reading is stopped (bits; PAUSE_BODY comes from request-body.ts). */
const PAUSE_PIPELINE = 2
const PAUSE_WRITE = 4
/** A refused request or a tunnel: never resumed. */
const PAUSE_FOR_GOOD = 8

/** Requests read ahead of the one being answered; reading stops at this many. */
const MAX_PIPELINE = 16

/** Where the parser is in the current message. */
const RX_IDLE = 0
const RX_HEAD = 1
const RX_BODY = 2

/** Parsers are reused across connections, as Node's server does. */
const freeParsers: ConnParser[] = []
const MAX_FREE_PARSERS = 1000
const parserResource = {}

export class Http1Connection implements ExchangeOwner, BodySource {
  readonly socket: Socket
  readonly remoteAddress: string
  readonly trusted: boolean
  readonly #host: ConnectionHost
  #parser: ConnParser | null
  #consumed = false

  // --- the message being read ---
  #rx = RX_IDLE
  #headerBuf: string[] | null = null
  #urlBuf = ''
  /** The exchange whose body the parser is reading now. */
  #reading: Exchange | null = null
  /** The message that just ended had Upgrade: llhttp stopped right after it. */
  #upgradeStop: Exchange | null = null

  // --- the read gate ---
  #paused = 0
  /** Bytes read but not parsed yet (the parser paused, or stopped after an Upgrade). */
  #pending: Buffer | null = null
  /** The parser returned HPE_PAUSED and needs resume() before it parses again. */
  #parserPaused = false
  #drainScheduled = false

  // --- answering ---
  /** The exchange being answered. */
  active: Exchange | null = null
  /** Exchanges read but not started yet (pipelining), oldest first. */
  #queue: Exchange[] = []
  /** Request heads read so far. */
  requests = 0
  /** When the connection was accepted or last became idle (performance.now()). */
  idleSince: number
  /** No more requests are read: the connection ends after what is queued. */
  #closing = false
  /** A raw response to send, and then close, once earlier exchanges finished (a refused request). */
  #finalResponse: string | null = null
  /** Waiting for the client to take what was written before the next exchange starts. */
  #awaitingDrain = false
  /** For the send timeout: the last write-buffer size seen, and since when (see Http1Server.sweep). */
  sendMark = 0
  sendSince = 0
  closed = false

  /**
   * `head`: bytes already read from the socket (past a PROXY header), parsed
   * first; `peer`: the client a trusted balancer's PROXY header named.
   */
  constructor (socket: Socket, host: ConnectionHost, trusted: boolean, head: Buffer = EMPTY, peer: string | null = null) {
    this.socket = socket
    this.#host = host
    this.trusted = trusted
    this.remoteAddress = peer ?? socket.remoteAddress ?? ''
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
    if (head.length > 0) {
      this.#pending = head
      handleOf(socket)?.readStop()
      this.#scheduleParse()
    }
  }

  get draining (): boolean { return this.#host.draining }
  get parser (): NativeParser | null { return this.#parser }
  get idle (): boolean { return this.active === null }

  // --- the message state machine (parser events) ---

  /** Header lines flushed before the head is complete (a long head), or after it (trailers). */
  headers (headers: string[], url: string): void {
    if (this.#rx === RX_BODY) return // trailers (after a chunked body): dropped, never merged into a request
    this.#rx = RX_HEAD
    if (this.#headerBuf === null) this.#headerBuf = headers
    else for (let i = 0; i < headers.length; i++) this.#headerBuf.push(headers[i])
    this.#urlBuf += url
  }

  /** Returns PAUSE_PARSER when the parser must stop after this head. */
  headComplete (versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (headers === undefined) headers = this.#headerBuf ?? []
    if (url === undefined) url = this.#urlBuf
    this.#headerBuf = null
    this.#urlBuf = ''
    this.#rx = RX_BODY
    this.requests++
    if (this.#closing) return PAUSE_PARSER // a request after one that closes the connection: not read
    const name = METHODS[method] ?? 'GET'
    const ex = new Exchange(this, name, url, headers, versionMinor, keepAlive, upgrade)
    if (!ex.keepAlive) this.#closing = true
    if (versionMajor !== 1) return this.#refuse('505 HTTP Version Not Supported')
    if (name === 'CONNECT') return this.#refuse('405 Method Not Allowed') // a reverse proxy does not tunnel
    if (headers.length > this.#host.maxHeaders * 2) return this.#refuse('431 Request Header Fields Too Large')
    this.#reading = ex
    this.#host.handler.onRequest(ex)
    if (ex.tunnel) this.#closing = true // nothing is read past a tunnel request
    if (this.active === null && !this.#awaitingDrain) {
      this.active = ex
      ex.runner?.run()
    } else {
      this.#queue.push(ex)
      if (this.#queue.length >= MAX_PIPELINE) this.pauseReading(PAUSE_PIPELINE)
    }
    return this.#paused !== 0 ? PAUSE_PARSER : 0
  }

  bodyChunk (chunk: Buffer): void {
    const ex = this.#reading
    if (ex === null || ex.body === null) return
    if (ex.finished) return // answered already: the rest of the body is read and dropped
    ex.body.feed(chunk)
  }

  endMessage (): void {
    const ex = this.#reading
    this.#rx = RX_IDLE
    this.#headerBuf = null
    this.#urlBuf = ''
    this.#reading = null
    if (ex === null) return
    ex.requestDone = true
    if (ex.upgrade) this.#upgradeStop = ex
    if (ex.body !== null) ex.body.push(null)
  }

  /** After the parser consumed a read (consume mode): `ret` is bytes parsed or an error. */
  executed (ret: number | ParserError): void {
    if (typeof ret !== 'number') {
      this.#parserStopped(ret, (this.#parser as ConnParser).getCurrentBuffer())
      return
    }
    const upgraded = this.#upgradeStop
    if (upgraded === null) return
    this.#upgradeStop = null
    this.#keep((this.#parser as ConnParser).getCurrentBuffer(), ret)
    if (!this.#afterUpgrade(upgraded) && this.#pending !== null) this.#scheduleParse()
  }

  /** The parser stopped short of `data`'s end: paused on purpose, at an HTTP/2 preface, or at bad input. */
  #parserStopped (err: ParserError, data: Buffer): void {
    const at = err.bytesParsed ?? 0
    if (err.code === 'HPE_PAUSED') {
      this.#parserPaused = true
      this.#keep(data, at)
    } else if (err.code === 'HPE_PAUSED_H2_UPGRADE') {
      this.#preface(data.subarray(at))
    } else {
      this.#parseError(err)
    }
  }

  /** Keeps what the parser has not parsed of `buf` (from `offset`) for later. */
  #keep (buf: Buffer, offset: number): void {
    if (offset < buf.length) {
      this.#pending = buf.subarray(offset)
      handleOf(this.socket)?.readStop() // nothing more is read before the kept bytes are parsed
    }
  }

  /**
   * The parser stopped after an Upgrade message: a tunnel waits for its
   * answer (true); any other request was served as plain HTTP and the
   * connection reads on (false).
   */
  #afterUpgrade (ex: Exchange): boolean {
    if (ex.tunnel) {
      // Read nothing more as HTTP: the socket's stream keeps what arrives until the tunnel takes it.
      this.#paused |= PAUSE_FOR_GOOD
      this.#unconsume()
      handleOf(this.socket)?.readStart()
      this.socket.pause()
      return true
    }
    return false
  }

  /** Parses kept bytes once the gate is open (never from inside a parser callback). */
  #scheduleParse (): void {
    if (this.#drainScheduled || this.closed) return
    this.#drainScheduled = true
    setImmediate(parseKept, this)
  }

  parseKept (): void {
    this.#drainScheduled = false
    const parser = this.#parser
    while (parser !== null && this.#paused === 0 && !this.closed) {
      if (this.#parserPaused) {
        this.#parserPaused = false
        parser.resume()
      }
      const buf = this.#pending
      if (buf === null) break
      this.#pending = null
      const ret = parser.execute(buf)
      if (typeof ret !== 'number') {
        this.#parserStopped(ret, buf)
        return
      }
      const upgraded = this.#upgradeStop
      if (upgraded !== null) {
        this.#upgradeStop = null
        this.#keep(buf, ret)
        if (this.#afterUpgrade(upgraded)) return
      }
    }
    if (parser !== null && this.#paused === 0 && this.#pending === null && !this.closed) handleOf(this.socket)?.readStart()
  }

  // --- exchanges ---

  exchangeDone (ex: Exchange): void {
    if (ex !== this.active) return
    this.active = null
    if (!ex.keepAlive) {
      // Pipelined requests after a close were never answered: dropped (a client retries them elsewhere).
      this.#closing = true
      this.#queue.length = 0
      this.socket.destroySoon()
      return
    }
    // The response went out before the request body finished: keep reading it (and dropping it)
    // so the next request is found.
    if (ex.body !== null && !ex.requestDone) this.resumeReading(PAUSE_BODY)
    if (this.socket.writableNeedDrain) {
      // The client is not taking what we wrote: nothing new starts, nothing more is read, until it does.
      this.#awaitingDrain = true
      this.pauseReading(PAUSE_WRITE)
      this.socket.once('drain', onSocketDrain)
      return
    }
    this.#next()
  }

  drained (): void {
    if (!this.#awaitingDrain || this.closed) return
    this.#awaitingDrain = false
    this.resumeReading(PAUSE_WRITE)
    if (this.active === null) this.#next()
  }

  #next (): void {
    const next = this.#queue.shift()
    if (next !== undefined) {
      if (this.#queue.length < MAX_PIPELINE) this.resumeReading(PAUSE_PIPELINE)
      this.active = next
      next.runner?.run()
      return
    }
    this.idleSince = performance.now()
    if (this.#finalResponse !== null) this.#sendFinal()
    else if (this.#closing) this.socket.destroySoon()
  }

  pauseReading (reason: number): void {
    if (this.#paused === 0 && this.#consumed) handleOf(this.socket)?.readStop()
    this.#paused |= reason
  }

  resumeReading (reason: number): void {
    if ((this.#paused & reason) === 0) return
    this.#paused &= ~reason
    if (this.#paused !== 0 || this.closed || this.#parser === null) return
    if (this.#pending !== null || this.#parserPaused) this.#scheduleParse()
    else handleOf(this.socket)?.readStart()
  }

  takeOver (_ex: Exchange): TakenSocket {
    const head = this.#pending ?? EMPTY
    this.#pending = null
    return { socket: this.#detach(), head }
  }

  /**
   * llhttp stopped at the HTTP/2 preface (`rest`: what followed it in that
   * read). Only as a connection's first bytes, and only where the handler
   * speaks HTTP/2, does it hand the socket over.
   */
  #preface (rest: Buffer): void {
    const handler = this.#host.handler
    if (this.requests > 0 || handler.onPreface === undefined) {
      this.#refuse(this.requests > 0 ? '400 Bad Request' : '505 HTTP Version Not Supported')
      return
    }
    this.#unconsume()
    const trusted = this.trusted
    const socket = this.#detach()
    handler.onPreface(socket, rest.length === 0 ? H2_PREFACE : Buffer.concat([H2_PREFACE, rest]), trusted)
  }

  /** The socket stops being this connection's: listeners off, parser back to the pool, forgotten. */
  #detach (): Socket {
    const socket = this.socket
    this.active = null
    socket.off('end', onSocketEnd)
    socket.off('close', onSocketClose)
    socket.off('error', onSocketError)
    ;(socket as SocketWithConn).conn = null
    this.closed = true
    this.#queue.length = 0
    this.#releaseParser()
    this.#host.forget(this)
    return socket
  }

  /** Timeouts (from the server's sweep): answers 408 when nothing is being answered, else cuts. */
  timeout (): void {
    if (this.active === null && !this.#awaitingDrain) this.#refuse('408 Request Timeout')
    else this.socket.destroy()
  }

  /** Closes a keep-alive connection with nothing in flight (idle timeout, drain, listener closed). */
  closeIfIdle (): void {
    if (this.active !== null || this.closed) return
    this.#closing = true
    this.socket.destroySoon()
  }

  // --- socket events ---

  ended (): void {
    // The client shut its side: like Node's server (and nginx), what it asked and has not been
    // answered yet is abandoned, so a client that leaves mid-response frees the upstream at once.
    if (this.active !== null || this.#reading !== null || this.#queue.length > 0) {
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
    for (const ex of this.#queue) ex.body?.destroy()
    this.#queue.length = 0
    this.#reading = null
    this.#pending = null
    this.#releaseParser()
    this.#host.forget(this)
  }

  #parseError (err: ParserError): void {
    const reading = this.#reading
    if (reading === null && this.#closing) return // data after a request that closes the connection: ignored
    this.#reading = null
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
      } else {
        const i = this.#queue.indexOf(reading)
        if (i !== -1) this.#queue.splice(i, 1) // never started: it gets no answer of its own
      }
    }
    this.#refuse(err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request')
  }

  /**
   * Answers `statusLine` and closes, once the exchanges before it are
   * answered; reads nothing more. Returns PAUSE_PARSER (for parser callbacks).
   */
  #refuse (statusLine: string): number {
    this.#closing = true
    this.#reading = null
    this.pauseReading(PAUSE_FOR_GOOD)
    this.#pending = null
    this.#finalResponse = `HTTP/1.1 ${statusLine}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`
    if (this.active === null && !this.#awaitingDrain) this.#sendFinal()
    return PAUSE_PARSER
  }

  #sendFinal (): void {
    this.socket.end(this.#finalResponse ?? '')
    this.socket.destroySoon()
  }

  #unconsume (): void {
    if (!this.#consumed) return
    this.#consumed = false
    ;(this.#parser as ConnParser).unconsume()
  }

  #releaseParser (): void {
    const parser = this.#parser
    if (parser === null) return
    this.#unconsume()
    this.#parser = null
    parser.conn = null
    this.#headerBuf = null
    if (this.#parserPaused) parser.resume()
    this.#parserPaused = false
    parser.remove()
    if (freeParsers.length < MAX_FREE_PARSERS) freeParsers.push(parser)
    else setImmediate(closeParser, parser) // not from inside its own callback
  }
}

const EMPTY = Buffer.alloc(0)
/** The HTTP/2 client connection preface (RFC 9113 3.4), which llhttp stops after. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

function closeParser (parser: NativeParser): void {
  parser.close()
}

function parseKept (conn: Http1Connection): void {
  conn.parseKept()
}

type SocketWithConn = Socket & { conn: Http1Connection | null }

// Parser callbacks: `this` is the parser (no per-connection closures).
function onHeaders (this: ConnParser, headers: string[], url: string): void {
  this.conn?.headers(headers, url)
}

function onHeadersComplete (this: ConnParser, versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, url: string | undefined,
  _statusCode: unknown, _statusMessage: unknown, upgrade: boolean, keepAlive: boolean): number {
  return this.conn?.headComplete(versionMajor, versionMinor, headers, method, url, upgrade, keepAlive) ?? 0
}

function onBody (this: ConnParser, chunk: Buffer): void {
  this.conn?.bodyChunk(chunk)
}

function onMessageComplete (this: ConnParser): void {
  this.conn?.endMessage()
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

function onSocketDrain (this: SocketWithConn): void {
  this.conn?.drained()
}

function onSocketError (): void {}
