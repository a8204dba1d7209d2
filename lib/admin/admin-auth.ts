/**
 * The admin token (node.adminToken): everything on the admin listener
 * beyond /metrics and /healthz needs it. Given as `Authorization: Bearer
 * TOKEN` or as `?token=TOKEN` (the dashboard page keeps it in the tab's
 * sessionStorage and sends it with its event stream: EventSource cannot set
 * headers). Compared in constant time. No response ever carries it.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export class AdminAuth {
  readonly #digest: Buffer | null

  /** `token` '' = no token configured: nothing beyond /metrics and /healthz is served. */
  constructor (token: string) {
    this.#digest = token === '' ? null : digest(token)
  }

  get enabled (): boolean { return this.#digest !== null }

  /** Whether the request carries the token (header or query parameter). */
  allows (req: IncomingMessage, url: URL): boolean {
    if (this.#digest === null) return false
    const header = req.headers.authorization
    const given = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : url.searchParams.get('token')
    return given !== null && given !== '' && timingSafeEqual(digest(given), this.#digest)
  }
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
