/**
 * What a forwarded request needs from the client side it answers: the
 * request as received and the response going out, whatever the protocol
 * (an HTTP/1.x exchange on a connection, or an HTTP/2 stream). Forward,
 * the generated answers and the access log speak only this.
 */
import type { Readable } from 'node:stream'
import type { LoggedRequest } from './access-log'

export interface ClientSide extends LoggedRequest {
  /** performance.now() when the request arrived. */
  readonly start: number
  /** Status sent to the client (0 until a response began). */
  readonly status: number
  readonly responseStarted: boolean
  /** The request body as undici reads it, or null when there is none. */
  readonly body: Readable | null
  /** An expected 100 Continue, sent once (a no-op when none is expected). */
  sendContinue: () => void
  /**
   * Starts the response from an upstream head (raw headers, as undici hands
   * them over). `trailers`: trailers may follow the body (an HTTP/2 upstream);
   * a client side that can carry them waits for setTrailers before it ends.
   */
  respondUpstream: (status: number, statusText: string, rawHeaders: Buffer[], trailers?: boolean) => void
  /** A body chunk; false when the client is slow (then `onceWritable` says when to go on). */
  write: (chunk: Buffer) => boolean
  onceWritable: (resume: () => void) => void
  /** The response is complete. */
  end: () => void
  /** A whole answer of the proxy's own (or a cut, after a response began). */
  sendText: (status: number, statusText: string, body: string, code: string | null, close?: boolean) => void
  /** A permanent redirect (308) to `location`. */
  sendRedirect: (location: string) => void
  /** The response cannot be completed: the client must see it cut, not short. */
  abort: () => void
}
