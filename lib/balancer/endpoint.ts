/**
 * One upstream endpoint as this node sees it: address, keep-alive pool,
 * admission (at most `connections` requests dispatched, the rest wait in a
 * bounded queue), local (passive) health and hot-path counters. Lives across
 * table swaps for as long as the registry keeps the endpoint (same id), so
 * its pool, counters and ejection state survive unrelated changes.
 */
import type { ClientHttp2Session } from 'node:http2'
import { Pool } from 'undici'
import { FixedHistogram } from '../metrics/histogram'
import { formatHostPort } from '../util/address'
import { createLogger } from '../util/log'
import type { Balancer } from './round-robin'
import { WaitQueue, type Waiter } from './wait-queue'

const log = createLogger('balancer')

export interface PoolOptions {
  connectTimeout: number
  headersTimeout: number
  bodyTimeout: number
  keepAliveTimeout: number
  connections: number
  maxHeaderSize: number
  /** Requests that may wait for a free connection (0 = none wait). */
  maxQueued: number
  /** How long one may wait (ms). */
  queueTimeout: number
}

/** What admit() decided. */
export const ADMITTED = 0
export const QUEUED = 1
export const QUEUE_FULL = 2

export class Endpoint {
  /** `<task id>:<port>`: the key a table swap reconciles by. */
  readonly key: string
  readonly taskId: string
  readonly host: string
  readonly port: number
  /** `host:port`, for labels and messages. */
  readonly address: string
  readonly origin: string
  /** Balancers that list this endpoint (rebuilt on every swap). */
  readonly balancers = new Set<Balancer>()

  // passive health
  consecutiveFailures = 0
  consecutive5xx = 0
  ejected = false
  /** The current ejection came from the 5xx rule (it is capped per service). */
  ejectedFor5xx = false
  /** Current ejection level: the next ejection lasts base * 2^level, capped. */
  ejectLevel = 0
  ejectTimer: NodeJS.Timeout | null = null

  // hot-path counters, read at scrape time
  /** Responses by status class: index 1..5 = 1xx..5xx (0 unused). */
  readonly responses = new Float64Array(6)
  /** L7 request duration through this endpoint, seconds (the dashboard's p99; not exported to Prometheus). */
  readonly duration = new FixedHistogram()

  #pool: Pool | null = null
  readonly #poolOptions: PoolOptions
  /** The multiplexed HTTP/2 session to an endpoint that speaks it (proxy/http2/h2-dispatch.ts), or null. */
  h2Session: ClientHttp2Session | null = null
  /** Requests dispatched to the pool and not finished. */
  inFlight = 0
  readonly #queue: WaitQueue

  constructor (key: string, taskId: string, host: string, port: number, poolOptions: PoolOptions) {
    this.key = key
    this.taskId = taskId
    this.host = host
    this.port = port
    this.address = formatHostPort(host, port)
    this.origin = `http://${this.address}`
    this.#poolOptions = poolOptions
    this.#queue = new WaitQueue(poolOptions.queueTimeout)
  }

  /** Requests waiting for a connection now. */
  get queued (): number { return this.#queue.size }

  /**
   * A request wants a connection: ADMITTED (dispatch now; call release()
   * when it ends), QUEUED (`w.admitted()` or `w.expired()` follows), or
   * QUEUE_FULL.
   */
  admit (w: Waiter): number {
    if (this.inFlight < this.#poolOptions.connections) {
      this.inFlight++
      return ADMITTED
    }
    if (this.#queue.size >= this.#poolOptions.maxQueued) return QUEUE_FULL
    this.#queue.push(w)
    return QUEUED
  }

  /** An admitted request ended: its connection goes to the oldest waiter. */
  release (): void {
    const next = this.#queue.shift()
    if (next === null) this.inFlight--
    else next.admitted()
  }

  /** A queued request gave up before it was admitted. */
  withdraw (w: Waiter): void {
    this.#queue.withdraw(w)
  }

  /** The keep-alive pool, created on first use (L4-only endpoints never make one). */
  get pool (): Pool {
    if (this.#pool === null) {
      const o = this.#poolOptions
      this.#pool = new Pool(this.origin, {
        connections: o.connections,
        connectTimeout: o.connectTimeout,
        headersTimeout: o.headersTimeout,
        bodyTimeout: o.bodyTimeout,
        keepAliveTimeout: o.keepAliveTimeout,
        keepAliveMaxTimeout: Math.max(o.keepAliveTimeout, 600_000),
        maxHeaderSize: o.maxHeaderSize,
        pipelining: 1
      })
      this.#pool.on('connectionError', onConnectionError)
    }
    return this.#pool
  }

  /** Closes the pool after in-flight requests finish. */
  async close (): Promise<void> {
    if (this.ejectTimer !== null) clearTimeout(this.ejectTimer)
    this.ejectTimer = null
    this.h2Session?.close()
    this.h2Session = null
    const pool = this.#pool
    this.#pool = null
    if (pool !== null) {
      try {
        await pool.close()
      } catch (err) {
        log.debug('closing the pool of %s: %s', this.address, (err as Error).message)
      }
    }
  }
}

/** Connect failures reach the request that was waiting for them (and count there); the pool's event is only logged. */
function onConnectionError (origin: URL, _targets: unknown, err: Error): void {
  log.debug('connection to %s failed: %s', origin.host, err.message)
}
