/** Responses the proxy writes itself: short text bodies with the error code in a header. */
import type { Exchange, Runner } from './http1/exchange'

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  417: 'Expectation Failed',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

export function reasonOf (status: number): string {
  return REASONS[status] ?? ''
}

export function sendError (ex: Exchange, status: number, body: string, code: string | null, close = false): void {
  ex.sendText(status, reasonOf(status), body, code, close)
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
