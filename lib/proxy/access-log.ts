/**
 * The optional access log (`proxy.accessLog: true`): one line per L7
 * request, nginx-like, buffered and written to stdout every 100 ms or 64 KiB.
 * When off, the hot path pays one null check.
 *
 *   127.0.0.1 - - [25/Nov/2026:01:43:21 +0000] "GET / HTTP/1.1" 200 web 127.0.0.51:9001 0.512ms
 */
import type { Writable } from 'node:stream'

/** What a log line says of the request (an http1 Exchange has these). */
export interface LoggedRequest {
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  readonly remoteAddress: string
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n))

export class AccessLog {
  readonly #out: Writable
  #lines: string[] = []
  #bytes = 0
  #second = -1
  #stamp = ''
  readonly #timer: NodeJS.Timeout

  constructor (out: Writable = process.stdout, flushMs = 100) {
    this.#out = out
    this.#timer = setInterval(() => { this.flush() }, flushMs)
    this.#timer.unref()
  }

  /** `status` 499: the client went away first (nginx's convention). */
  request (req: LoggedRequest, status: number, service: string, endpoint: string, seconds: number): void {
    const now = Date.now()
    const second = Math.floor(now / 1000)
    if (second !== this.#second) {
      const d = new Date(now)
      this.#second = second
      this.#stamp = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
    }
    const url = req.url.replace(/"/g, '%22')
    const line = `${req.remoteAddress !== '' ? req.remoteAddress : '-'} - - [${this.#stamp}] "${req.method} ${url} HTTP/${req.httpVersion}" ${status} ${service} ${endpoint} ${(seconds * 1000).toFixed(3)}ms\n`
    this.#lines.push(line)
    this.#bytes += line.length
    if (this.#bytes >= 65536) this.flush()
  }

  flush (): void {
    if (this.#lines.length === 0) return
    const text = this.#lines.join('')
    this.#lines = []
    this.#bytes = 0
    this.#out.write(text)
  }

  close (): void {
    clearInterval(this.#timer)
    this.flush()
  }
}
