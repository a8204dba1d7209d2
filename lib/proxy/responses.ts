/** Responses the proxy writes itself: short text bodies with the error code in a header. */
import { STATUS_CODES } from 'node:http'
import type { ClientSide } from './client-side'
import type { Exchange, Runner } from './http1/exchange'

export function sendError (ex: ClientSide, status: number, body: string, code: string | null, close = false): void {
  ex.sendText(status, STATUS_CODES[status] ?? '', body, code, close)
}

/** A generated answer, started in the exchange's turn (pipelined requests answer in order). */
export class GeneratedResponse implements Runner {
  readonly #ex: Exchange
  readonly #status: number
  readonly #body: string
  readonly #code: string | null
  readonly #close: boolean
  readonly #done: ((status: number) => void) | null

  constructor (ex: Exchange, status: number, body: string, code: string | null, close: boolean, done: ((status: number) => void) | null = null) {
    this.#ex = ex
    this.#status = status
    this.#body = body
    this.#code = code
    this.#close = close
    this.#done = done
  }

  run (): void {
    sendError(this.#ex, this.#status, this.#body, this.#code, this.#close)
    this.#done?.(this.#status)
  }

  cancel (): void {}
}
