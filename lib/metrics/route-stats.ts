/**
 * Per-route (service x published port) counters, kept across table swaps for
 * as long as the route exists. Plain numbers; exported at scrape time.
 */
import { FixedHistogram } from './histogram'
import type { Protocol } from '../registry/types'

/**
 * connect/timeout/reset/protocol: the endpoint failed; local: this node
 * could not open a connection (out of file descriptors, memory, local
 * ports); queue: no upstream connection became free within queueTimeout,
 * or the wait queue was full.
 */
export const UPSTREAM_ERROR_KINDS = ['connect', 'timeout', 'reset', 'protocol', 'local', 'queue'] as const
export type UpstreamErrorKind = typeof UPSTREAM_ERROR_KINDS[number]
export const ERR_CONNECT = 0
export const ERR_TIMEOUT = 1
export const ERR_RESET = 2
export const ERR_PROTOCOL = 3
export const ERR_LOCAL = 4
export const ERR_QUEUE = 5

export class RouteStats {
  readonly service: string
  readonly port: number
  readonly protocol: Protocol
  /** L7 request duration, seconds (arrival to last response byte). */
  readonly duration = new FixedHistogram()
  /** Indexed by the ERR_* constants. */
  readonly upstreamErrors = new Float64Array(UPSTREAM_ERROR_KINDS.length)
  /** Responses the proxy generated itself (no route/endpoint, upstream failure), by status class 1..5. */
  readonly generated = new Float64Array(6)
  tcpConnections = 0
  tcpActive = 0
  bytesIn = 0
  bytesOut = 0

  constructor (service: string, port: number, protocol: Protocol) {
    this.service = service
    this.port = port
    this.protocol = protocol
  }
}
