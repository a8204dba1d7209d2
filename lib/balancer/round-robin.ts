/**
 * Round robin over a route's available endpoints. The pick is one integer
 * step over a precomputed array; the array is rebuilt only when the set
 * changes (table swap) or an endpoint flips (passive ejection/return).
 */
import type { Endpoint } from './endpoint'

export class Balancer {
  /** Every endpoint the registry lists as eligible (running, healthy). */
  endpoints: readonly Endpoint[] = []
  /** The subset not locally ejected; what pick() walks. */
  #picks: Endpoint[] = []
  #index = 0

  setEndpoints (endpoints: readonly Endpoint[]): void {
    for (const ep of this.endpoints) ep.balancers.delete(this)
    this.endpoints = endpoints
    for (const ep of endpoints) ep.balancers.add(this)
    this.refresh()
  }

  /** Rebuilds the pick array; called when an endpoint is ejected or returns. */
  refresh (): void {
    const picks: Endpoint[] = []
    for (const ep of this.endpoints) if (!ep.ejected) picks.push(ep)
    // Panic mode (Envoy's): when every endpoint is ejected, try them all rather than fail them all.
    this.#picks = picks.length > 0 ? picks : this.endpoints.slice()
    if (this.#index >= this.#picks.length) this.#index = 0
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
    return picks[i]
  }

  detach (): void {
    for (const ep of this.endpoints) ep.balancers.delete(this)
    this.endpoints = []
    this.#picks = []
  }
}
