/**
 * Round robin over a route's available endpoints. The pick is one integer
 * step over a precomputed array; the array is rebuilt only when the set
 * changes (table swap) or an endpoint flips (passive ejection/return).
 *
 * Until its first pick, a balancer stands at `start` (mod the endpoints):
 * each node gives its own start (table-builder.ts), so the first request to
 * every node does not go to the same endpoint. From the first pick on, the
 * rotation is exact and a set change keeps the position.
 */
import type { Endpoint } from './endpoint'

export class Balancer {
  /** Every endpoint the registry lists as eligible (running, healthy). */
  endpoints: readonly Endpoint[] = []
  /** The subset not locally ejected; what pick() walks. */
  #picks: Endpoint[] = []
  #index = 0
  #start = 0
  #picked = false

  /** `start`: where the first pick falls (mod the endpoints), until a pick has been made. */
  setEndpoints (endpoints: readonly Endpoint[], start = this.#start): void {
    for (const ep of this.endpoints) ep.balancers.delete(this)
    this.endpoints = endpoints
    for (const ep of endpoints) ep.balancers.add(this)
    this.#start = start
    this.refresh()
  }

  /** Rebuilds the pick array; called when an endpoint is ejected or returns. */
  refresh (): void {
    const picks: Endpoint[] = []
    for (const ep of this.endpoints) if (!ep.ejected) picks.push(ep)
    // Panic mode (Envoy's): when every endpoint is ejected, try them all rather than fail them all.
    this.#picks = picks.length > 0 ? picks : this.endpoints.slice()
    if (!this.#picked) this.#index = this.#picks.length > 0 ? this.#start % this.#picks.length : 0
    else if (this.#index >= this.#picks.length) this.#index = 0
  }

  /** Endpoints a request may try (for bounding retries). */
  get available (): number {
    return this.#picks.length
  }

  pick (): Endpoint | null {
    const picks = this.#picks
    const n = picks.length
    if (n === 0) return null
    const i = this.#index
    this.#index = i + 1 === n ? 0 : i + 1
    this.#picked = true
    return picks[i]
  }

  detach (): void {
    for (const ep of this.endpoints) ep.balancers.delete(this)
    this.endpoints = []
    this.#picks = []
  }
}
