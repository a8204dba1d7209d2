/**
 * One HTTP/2 stream as the client side of a forwarded request (ClientSide):
 * the request as nghttp2 parsed it, the response as HEADERS and DATA frames
 * on the stream, with the stream's own flow control as backpressure.
 */
import { constants, type ServerHttp2Stream, type OutgoingHttpHeaders } from 'node:http2'
import { performance } from 'node:perf_hooks'
import { PassThrough, type Readable } from 'node:stream'
import type { ClientSide } from '../client-side'
import { h2ResponseHeaders } from '../response-headers'

const { NGHTTP2_INTERNAL_ERROR } = constants

export class H2Exchange implements ClientSide {
  readonly stream: ServerHttp2Stream
  readonly method: string
  readonly url: string
  readonly remoteAddress: string
  readonly start: number
  readonly body: Readable | null
  status = 0
  finished = false
  /** Trailers for the end of the response (an HTTP/2 upstream's, e.g. grpc-status). */
  #trailers: Record<string, string | string[]> | null = null

  constructor (stream: ServerHttp2Stream, method: string, url: string, remoteAddress: string, hasBody: boolean) {
    this.stream = stream
    this.method = method
    this.url = url
    this.remoteAddress = remoteAddress
    this.start = performance.now()
    // A readable of its own: undici destroys the body it read, and the stream is also where the answer goes.
    this.body = hasBody ? stream.pipe(new PassThrough({ highWaterMark: 64 * 1024 })) : null
  }

  get httpVersion (): string { return '2.0' }
  get responseStarted (): boolean { return this.status !== 0 }

  /** HTTP/2 has no 100 Continue to hold a body back: the client sends it when it wants. */
  sendContinue (): void {}

  respondUpstream (status: number, _statusText: string, rawHeaders: Buffer[], trailers = false): void {
    if (this.stream.destroyed) return
    this.status = status
    if (!trailers) {
      this.stream.respond(h2ResponseHeaders(status, rawHeaders))
      return
    }
    this.stream.respond(h2ResponseHeaders(status, rawHeaders), { waitForTrailers: true })
    this.stream.once('wantTrailers', () => { this.stream.sendTrailers(this.#trailers ?? {}) })
  }

  /** A whole response that is only a head (no body, no trailers). */
  respondOnly (status: number, rawHeaders: Buffer[]): void {
    if (this.finished || this.stream.destroyed) return
    this.finished = true
    this.status = status
    this.stream.respond(h2ResponseHeaders(status, rawHeaders), { endStream: true })
  }

  /** The trailers the response ends with (raw pairs, as an upstream sent them). */
  setTrailers (raw: Buffer[]): void {
    const out: Record<string, string | string[]> = {}
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase()
      const value = raw[i + 1].toString('latin1')
      const prev = out[name]
      out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
    }
    this.#trailers = out
  }

  /** A gRPC request that cannot be answered by its service: a trailers-only response with that status. */
  grpcError (code: number, message: string): void {
    if (this.finished || this.stream.destroyed) return
    this.finished = true
    this.status = 200
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) }, { endStream: true })
  }

  write (chunk: Buffer): boolean {
    if (this.stream.destroyed) return true
    return this.stream.write(chunk)
  }

  onceWritable (resume: () => void): void {
    this.stream.once('drain', resume)
  }

  end (): void {
    if (this.finished) return
    this.finished = true
    if (!this.stream.destroyed) this.stream.end()
  }

  sendText (status: number, _statusText: string, body: string, code: string | null): void {
    if (this.finished) return
    if (this.responseStarted) {
      this.abort()
      return
    }
    this.finished = true
    this.status = status
    if (this.stream.destroyed) return
    const headers: OutgoingHttpHeaders = { ':status': status, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }
    if (code !== null) headers['x-mesh-error'] = code
    this.stream.respond(headers)
    this.stream.end(this.method === 'HEAD' ? undefined : body)
  }

  sendRedirect (location: string): void {
    if (this.finished || this.responseStarted || this.stream.destroyed) return
    this.finished = true
    this.status = 308
    this.stream.respond({ ':status': 308, location }, { endStream: true })
  }

  /** A response that cannot complete: the stream is reset, never ended short. */
  abort (): void {
    this.finished = true
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR)
  }
}
