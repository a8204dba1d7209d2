/**
 * Passive health, local to each node, from the traffic itself (no probes):
 *   - `failures` consecutive connect failures, timeouts or resets eject an
 *     endpoint;
 *   - `fiveXx` consecutive 5xx responses eject it too (Envoy's
 *     consecutive_5xx), but never more than max(1, 10 %) of a route's
 *     endpoints at once by that rule: a service answering 500 everywhere
 *     keeps being served.
 * An ejection lasts a back-off period (base, doubling per re-ejection up to
 * max, HAProxy/Envoy style); then the endpoint is tried again. A success
 * after return resets the back-off. Errors of this node itself (out of file
 * descriptors, memory, local ports) never count against an endpoint.
 */
import type { Endpoint } from './endpoint'
import type { Balancer } from './round-robin'
import { createLogger } from '../util/log'

export interface PassiveOptions {
  failures: number
  /** 0 = off. */
  fiveXx: number
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
    ep.consecutive5xx = 0
    if (ep.ejectLevel > 0 && !ep.ejected) ep.ejectLevel = 0
  }

  /** A response head with this status arrived from `ep`, serving a route of `balancer`. */
  response (ep: Endpoint, status: number, balancer: Balancer): void {
    if (status < 500 || this.#options.fiveXx === 0) {
      this.success(ep)
      return
    }
    ep.consecutiveFailures = 0
    ep.consecutive5xx++
    if (ep.ejected || ep.consecutive5xx < this.#options.fiveXx) return
    let by5xx = 0
    for (const other of balancer.endpoints) if (other.ejected && other.ejectedFor5xx) by5xx++
    if (by5xx >= Math.max(1, Math.floor(balancer.endpoints.length / 10))) return
    this.#eject(ep, `${ep.consecutive5xx} consecutive ${status} responses`, true)
  }

  /** A connect failure, timeout or reset. */
  failure (ep: Endpoint, why: string): void {
    ep.consecutiveFailures++
    if (ep.ejected || ep.consecutiveFailures < this.#options.failures) return
    this.#eject(ep, `${ep.consecutiveFailures} consecutive failures (${why})`, false)
  }

  #eject (ep: Endpoint, why: string, for5xx: boolean): void {
    const ms = Math.min(this.#options.ejectBase * 2 ** ep.ejectLevel, this.#options.ejectMax)
    ep.ejectLevel++
    ep.ejected = true
    ep.ejectedFor5xx = for5xx
    this.ejections++
    log.warn(`ejected ${ep.address} for ${ms} ms after ${why}`)
    for (const b of ep.balancers) b.refresh()
    ep.ejectTimer = setTimeout(readmit, ms, ep)
    ep.ejectTimer.unref()
  }
}

function readmit (ep: Endpoint): void {
  ep.ejectTimer = null
  ep.ejected = false
  ep.ejectedFor5xx = false
  ep.consecutiveFailures = 0
  ep.consecutive5xx = 0
  log.info(`returning ${ep.address} to rotation`)
  for (const b of ep.balancers) b.refresh()
}
