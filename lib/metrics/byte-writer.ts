/**
 * Writes the text exposition format straight into Buffers: ready line
 * prefixes (bytes) are copied, whole numbers are written digit by digit,
 * and nothing else is allocated per sample, so a scrape of tens of
 * thousands of samples leaves almost no garbage behind.
 */
const CHUNK = 256 * 1024
const NEWLINE = 0x0a
const ZERO = 0x30

export class ByteWriter {
  readonly chunks: Buffer[] = []
  #buf: Buffer
  #len = 0
  /** Bytes written so far. */
  total = 0

  /** `sizeHint`: the bytes expected (a page's size last time), so one buffer usually holds it all. */
  constructor (sizeHint = CHUNK) {
    this.#buf = Buffer.allocUnsafe(Math.max(CHUNK, Math.ceil(sizeHint)))
  }

  bytes (b: Uint8Array): void {
    if (this.#len + b.length > this.#buf.length) this.#next(b.length)
    this.#buf.set(b, this.#len)
    this.#len += b.length
  }

  text (s: string): void {
    const max = s.length * 3
    if (this.#len + max > this.#buf.length) this.#next(max)
    this.#len += this.#buf.write(s, this.#len, 'utf8')
  }

  /** A sample value and the line's end. */
  value (v: number): void {
    if (Number.isSafeInteger(v) && v >= 0) {
      if (this.#len + 17 > this.#buf.length) this.#next(17)
      const buf = this.#buf
      if (v === 0) {
        buf[this.#len++] = ZERO
      } else {
        let digits = 0
        for (let n = v; n > 0; n = Math.floor(n / 10)) digits++
        let at = this.#len + digits
        this.#len = at
        for (let n = v; n > 0; n = Math.floor(n / 10)) buf[--at] = ZERO + (n % 10)
      }
      buf[this.#len++] = NEWLINE
      return
    }
    this.text(Number.isFinite(v) ? `${v}\n` : Number.isNaN(v) ? 'NaN\n' : v > 0 ? '+Inf\n' : '-Inf\n')
  }

  /** Everything written, as chunks (call once, at the end). */
  finish (): Buffer[] {
    if (this.#len > 0) this.chunks.push(this.#buf.subarray(0, this.#len))
    this.total += this.#len
    this.#len = 0
    return this.chunks
  }

  #next (need: number): void {
    if (this.#len > 0) this.chunks.push(this.#buf.subarray(0, this.#len))
    this.total += this.#len
    this.#buf = Buffer.allocUnsafe(Math.max(CHUNK, need))
    this.#len = 0
  }
}
