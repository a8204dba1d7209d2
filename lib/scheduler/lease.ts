/**
 * The scheduler lease: one active manager at a time, with a fencing token.
 *
 * - acquire: SET lease `<nodeId>:<token>` only if nobody holds it, and INCR the
 *   fence in the same script, so a win and its token are one atomic step.
 * - renew: PEXPIRE only while the lease still holds our exact value (Lua
 *   compare), every min(ttl/3, 250 ms). A renewal that fails, or that could not reach Redis
 *   before the lease would have expired, makes us step down at once.
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

/** KEYS: lease; ARGV: expected value, ttl ms. 1 when renewed, 0 when it is no longer ours. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
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
  readonly #renew: ScriptFn
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
    redis.defineCommand('meshLeaseRenew', { numberOfKeys: 1, lua: RENEW })
    redis.defineCommand('meshLeaseRelease', { numberOfKeys: 1, lua: RELEASE })
    const r = redis as unknown as Record<string, ScriptFn>
    this.#acquire = r.meshLeaseAcquire.bind(redis)
    this.#renew = r.meshLeaseRenew.bind(redis)
    this.#release = r.meshLeaseRelease.bind(redis)
  }

  get leader (): boolean { return this.token > 0 }

  get value (): string { return `${this.#nodeId}:${this.token}` }

  start (): void {
    // Renew well inside the TTL; a standby polls as often, so a released lease is taken within 250 ms.
    const period = Math.max(50, Math.min(Math.floor(this.#ttl / 3), 250))
    this.#timer = setInterval(() => { this.#tick() }, period)
    this.#timer.unref()
    this.#tick()
  }

  /** Gives the lease up (if held, or won while stopping) so a standby takes over at once. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearInterval(this.#timer)
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
    this.#inflight = (this.leader ? this.#renewOnce() : this.#acquireOnce())
      .catch((err: unknown) => { log.error(`lease ${this.leader ? 'renewal' : 'acquire'} threw: ${(err as Error)?.stack ?? String(err)}`) })
      .finally(() => { this.#inflight = null })
  }

  async #releaseValue (value: string): Promise<void> {
    try {
      await this.#release(this.#keys.lease, value)
    } catch (err) {
      log.debug('lease release failed (it expires by itself): %s', (err as Error).message)
    }
  }

  /** Never rejects: a failed attempt is retried on the next tick. */
  async #acquireOnce (): Promise<void> {
    const sentAt = Date.now()
    let token: number
    try {
      token = Number(await this.#acquire(this.#keys.lease, this.#keys.fence, this.#keys.epoch, this.#nodeId, this.#ttl))
    } catch (err) {
      log.debug('lease acquire failed: %s', (err as Error).message)
      return
    }
    if (!(token > 0)) return
    if (this.#stopped) {
      // Won while stopping: give it back at once, or a standby would wait a whole TTL.
      await this.#releaseValue(`${this.#nodeId}:${token}`)
      return
    }
    this.token = token
    this.#confirmedAt = sentAt
    this.emit('acquired', token)
  }

  /** Never rejects. */
  async #renewOnce (): Promise<void> {
    const sentAt = Date.now()
    const value = this.value
    let ok: boolean
    try {
      ok = Number(await this.#renew(this.#keys.lease, value, this.#ttl)) === 1
    } catch (err) {
      // Redis away: we may hold on only while the lease we last confirmed is surely still ours.
      if (Date.now() - this.#confirmedAt > this.#ttl * 2 / 3) this.#lose(`lease renewal failed: ${(err as Error).message}`)
      return
    }
    if (!this.leader || this.value !== value) return
    if (ok) this.#confirmedAt = sentAt
    else this.#lose('lease taken over or expired')
  }

  #lose (reason: string): void {
    this.token = 0
    this.emit('lost', reason)
  }
}
