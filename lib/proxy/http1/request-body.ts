/**
 * A request body as a Readable for undici, fed by the parser. Backpressure
 * goes all the way to the client socket: a full buffer stops reading from
 * the socket, undici's next read starts it again.
 */
import { Readable } from 'node:stream'

export interface BodySource {
  pauseReading: (reason: number) => void
  resumeReading: (reason: number) => void
}

/** Why reading from the client socket is stopped (bits). */
export const PAUSE_BODY = 1
export const PAUSE_QUEUE = 2

export class RequestBody extends Readable {
  readonly #source: BodySource

  constructor (source: BodySource) {
    super({ highWaterMark: 64 * 1024 })
    this.#source = source
    // A malformed body ends it with the parse error (destroy(err)). Its consumer (undici) sees that
    // through its own listener; a body nobody consumes yet (a queued or refused request) must not turn
    // the client's bad framing into an uncaught exception.
    this.on('error', ignoreError)
  }

  /** From the parser; stops the socket when undici is not keeping up. */
  feed (chunk: Buffer): void {
    if (!this.push(chunk)) this.#source.pauseReading(PAUSE_BODY)
  }

  override _read (): void {
    this.#source.resumeReading(PAUSE_BODY)
  }
}

function ignoreError (): void {}
