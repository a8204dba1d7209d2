/**
 * Passive health, local to each node: consecutive connect failures or
 * timeouts eject an endpoint for a back-off period (base, doubling per
 * re-ejection up to max, HAProxy/Envoy style); then it is tried again. A
 * success after return resets the back-off.
 */
import type { Endpoint } from './endpoint'
import { createLogger } from '../util/log'

export interface PassiveOptions {
  failures: number
  ejectBase: number
  ejectMax: number
}

const log = createLogger('health')

export class PassiveHealth {
  readonly #options: PassiveOptions
  /** Ejections since start, all endpoints (metric). */
  ejections = 0

  constructor (options: PassiveOptions) {
    this.#options = options
  }

  /** A response head arrived (or a TCP connect succeeded). */
  success (ep: Endpoint): void {
    ep.consecutiveFailures = 0
    if (ep.ejectLevel > 0 && !ep.ejected) ep.ejectLevel = 0
  }

  /** A connect failure or timeout. */
  failure (ep: Endpoint, why: string): void {
    ep.consecutiveFailures++
    if (ep.ejected || ep.consecutiveFailures < this.#options.failures) return
    const ms = Math.min(this.#options.ejectBase * 2 ** ep.ejectLevel, this.#options.ejectMax)
    ep.ejectLevel++
    ep.ejected = true
    this.ejections++
    log.warn(`ejected ${ep.address} for ${ms} ms after ${ep.consecutiveFailures} consecutive failures (${why})`)
    for (const b of ep.balancers) b.refresh()
    ep.ejectTimer = setTimeout(readmit, ms, ep)
    ep.ejectTimer.unref()
  }
}

function readmit (ep: Endpoint): void {
  ep.ejectTimer = null
  ep.ejected = false
  ep.consecutiveFailures = 0
  log.info(`returning ${ep.address} to rotation`)
  for (const b of ep.balancers) b.refresh()
}
