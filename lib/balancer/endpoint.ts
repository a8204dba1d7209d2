/**
 * One upstream endpoint as this node sees it: address, keep-alive pool,
 * local (passive) health and hot-path counters. Lives across table swaps for
 * as long as the registry keeps the endpoint (same id), so its pool, counters
 * and ejection state survive unrelated changes.
 */
import { Pool } from 'undici'
import { formatHostPort } from '../util/address'
import type { Balancer } from './round-robin'

export interface PoolOptions {
  connectTimeout: number
  headersTimeout: number
  bodyTimeout: number
  keepAliveTimeout: number
  connections: number
  maxHeaderSize: number
}

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
  ejected = false
  /** Current ejection level: the next ejection lasts base * 2^level, capped. */
  ejectLevel = 0
  ejectTimer: NodeJS.Timeout | null = null

  // hot-path counters, read at scrape time
  /** Responses by status class: index 1..5 = 1xx..5xx (0 unused). */
  readonly responses = new Float64Array(6)

  #pool: Pool | null = null
  readonly #poolOptions: PoolOptions

  constructor (key: string, taskId: string, host: string, port: number, poolOptions: PoolOptions) {
    this.key = key
    this.taskId = taskId
    this.host = host
    this.port = port
    this.address = formatHostPort(host, port)
    this.origin = `http://${this.address}`
    this.#poolOptions = poolOptions
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
      this.#pool.on('connectionError', () => {})
    }
    return this.#pool
  }

  /** Closes the pool after in-flight requests finish. */
  async close (): Promise<void> {
    if (this.ejectTimer !== null) clearTimeout(this.ejectTimer)
    this.ejectTimer = null
    const pool = this.#pool
    this.#pool = null
    if (pool !== null) await pool.close().catch(() => {})
  }
}
