/**
 * Reads an upstream TCP socket straight into memory we own (net's `onread`)
 * and writes each read to the client: no Readable stream, no pipe, and no
 * 64 KiB allocation per read as Node's default read path makes.
 *
 * Small reads (the request/response traffic most TCP services carry) land in
 * one buffer shared by every upstream socket and are copied out at once, so
 * the next read may reuse it. A socket whose reads come big (bulk transfer)
 * switches to a buffer of its own that is handed to the client write whole,
 * without a copy, and replaced for the next read.
 */
import type { Socket } from 'node:net'

const READ_SIZE = 64 * 1024
/** Reads up to this size are copied out of the shared buffer. */
const COPY_MAX = 8 * 1024
const shared = Buffer.allocUnsafeSlow(READ_SIZE)

export class UpstreamReader {
  readonly #client: Socket
  #own: Buffer | null = null
  /** The own buffer went to a write: the next read needs a fresh one. */
  #handedOver = false

  constructor (client: Socket) {
    this.#client = client
  }

  /** Where the next read goes (net calls this at connect and after every read). */
  readonly buffer = (): Buffer => {
    if (this.#own === null) return shared
    if (this.#handedOver) {
      this.#own = Buffer.allocUnsafeSlow(READ_SIZE)
      this.#handedOver = false
    }
    return this.#own
  }

  /** One read of `n` bytes; false stops reading until the client drains. */
  readonly callback = (n: number, buf: Uint8Array): boolean => {
    if (n > COPY_MAX && buf !== shared) {
      this.#handedOver = true
      return this.#client.write((buf as Buffer).subarray(0, n))
    }
    const out = Buffer.allocUnsafe(n)
    out.set(buf.subarray(0, n))
    if (n > COPY_MAX) this.#own = Buffer.allocUnsafeSlow(READ_SIZE) // big reads: stop copying from now on
    return this.#client.write(out)
  }
}
