/**
 * The scheduler lease: one active manager at a time, with a fencing token.
 *
 * - acquire: SET lease `<nodeId>:<token>` only if nobody holds it, and INCR the
 *   fence in the same script, so a win and its token are one atomic step.
 * - renew: GETEX with a new TTL, every ttl/3 (one command: an idle
 *   cluster's cost must not depend on how often the leader renews): the
 *   value it returns says whether the lease was still ours. When it was
 *   not (taken over after a pause of ours), we step down at once; that one
 *   renewal extended the new holder's lease by a TTL at most, never more.
 *   A renewal that fails, or that could not reach Redis before the lease
 *   would have expired, makes us step down at once; failed ones are retried
 *   every 250 ms meanwhile.
 * - standby: tries to acquire every ttl/3 (at most 250 ms after a release
 *   would be better, but every standby's attempt costs the registry).
 * - release (on stop): DEL only if still ours, so a standby wins without
 *   waiting for the TTL; a win that lands while stopping is released too.
 *
 * Every scheduler write carries the token (`store.write(ops, { fence })`), so
 * a leader that was paused past its TTL cannot overwrite its successor.
 */
import { EventEmitter } from 'node:events'
import type Redis from 'ioredis'
import type { Keys } from '../registry/keys'
import { createLogger } from '../util/log'

const log = createLogger('scheduler')

/**
 * KEYS: lease, fence, epoch; ARGV: nodeId, ttl ms. Returns the new token, or 0
 * when the lease is held or the registry has no cluster epoch (nobody leads a
 * registry that is waiting to be restored: its fence would restart at 1).
 */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
`

/** KEYS: lease; ARGV: expected value. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>

export interface LeaseHolder { nodeId: string, token: number }

/** Parses a lease value `<nodeId>:<token>`; null when absent or malformed. */
export function parseLease (value: string | null): LeaseHolder | null {
  if (value === null) return null
  const colon = value.lastIndexOf(':')
  const token = Number(value.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(token)) return null
  return { nodeId: value.slice(0, colon), token }
}

/**
 * Emits 'acquired' (token) and 'lost' (reason). `token` is 0 while not leader.
 */
export class Lease extends EventEmitter {
  token = 0
  readonly #keys: Keys
  readonly #nodeId: string
  readonly #ttl: number
  readonly #acquire: ScriptFn
  readonly #redis: Redis
  readonly #release: ScriptFn
  #timer: NodeJS.Timeout | null = null
  #stopped = false
  /** The acquire or renew in flight, if any (stop waits for it). */
  #inflight: Promise<void> | null = null
  /** Date.now() when the last successful acquire/renew was sent. */
  #confirmedAt = 0

  constructor (redis: Redis, keys: Keys, nodeId: string, ttl: number) {
    super()
    this.#keys = keys
    this.#nodeId = nodeId
    this.#ttl = ttl
    redis.defineCommand('meshLeaseAcquire', { numberOfKeys: 3, lua: ACQUIRE })
    redis.defineCommand('meshLeaseRelease', { numberOfKeys: 1, lua: RELEASE })
    const r = redis as unknown as Record<string, ScriptFn>
    this.#acquire = r.meshLeaseAcquire.bind(redis)
    this.#redis = redis
    this.#release = r.meshLeaseRelease.bind(redis)
  }

  get leader (): boolean { return this.token > 0 }

  get value (): string { return `${this.#nodeId}:${this.token}` }

  start (): void {
    this.#tick()
  }

  /** Renewal and standby period: a third of the TTL (at least 50 ms). */
  get #period (): number { return Math.max(50, Math.floor(this.#ttl / 3)) }

  #schedule (ms: number): void {
    if (this.#stopped) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#timer = null; this.#tick() }, ms)
    this.#timer.unref()
  }

  /** Gives the lease up (if held, or won while stopping) so a standby takes over at once. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    await this.#inflight
    if (this.leader) {
      const value = this.value
      this.#lose('stopped')
      await this.#releaseValue(value)
    }
  }

  /** Steps down now (e.g. a write was fenced). The standby loop may win again later. */
  stepDown (reason: string): void {
    if (this.leader) this.#lose(reason)
  }

  #tick (): void {
    if (this.#stopped || this.#inflight !== null) return
    let next = this.#period
    this.#inflight = (this.leader ? this.#renewOnce() : this.#acquireOnce())
      .then((retry) => { if (retry) next = Math.min(250, next) })
      .catch((err: unknown) => { log.error(`lease ${this.leader ? 'renewal' : 'acquire'} threw: ${(err as Error)?.stack ?? String(err)}`) })
      .finally(() => { this.#inflight = null; this.#schedule(next) })
  }

  async #releaseValue (value: string): Promise<void> {
    try {
      await this.#release(this.#keys.lease, value)
    } catch (err) {
      log.debug('lease release failed (it expires by itself): %s', (err as Error).message)
    }
  }

  /** Never rejects: a failed attempt is retried on the next tick. */
  async #acquireOnce (): Promise<boolean> {
    const sentAt = Date.now()
    let token: number
    try {
      token = Number(await this.#acquire(this.#keys.lease, this.#keys.fence, this.#keys.epoch, this.#nodeId, this.#ttl))
    } catch (err) {
      const msg = (err as Error).message
      if (/^NOPERM/.test(msg)) log.once('denied', 'error', `this node may not take the scheduler lease (${msg}): its credential is a worker's; promote it (mesh node promote) to make it a manager`)
      else log.debug('lease acquire failed: %s', msg)
      return false
    }
    if (!(token > 0)) return false
    if (this.#stopped) {
      // Won while stopping: give it back at once, or a standby would wait a whole TTL.
      await this.#releaseValue(`${this.#nodeId}:${token}`)
      return false
    }
    this.token = token
    this.#confirmedAt = sentAt
    this.emit('acquired', token)
    return false
  }

  /** Never rejects; true when the renewal failed and should be retried soon. */
  async #renewOnce (): Promise<boolean> {
    const sentAt = Date.now()
    const value = this.value
    let held: string | null
    try {
      held = await this.#redis.getex(this.#keys.lease, 'PX', this.#ttl)
    } catch (err) {
      // Redis away: we may hold on only while the lease we last confirmed is surely still ours.
      if (Date.now() - this.#confirmedAt > this.#ttl * 2 / 3) this.#lose(`lease renewal failed: ${(err as Error).message}`)
      return this.leader
    }
    if (!this.leader || this.value !== value) return false
    if (held === value) this.#confirmedAt = sentAt
    else this.#lose(held === null ? 'lease expired' : 'lease taken over')
    return false
  }

  #lose (reason: string): void {
    this.token = 0
    this.emit('lost', reason)
  }
}
