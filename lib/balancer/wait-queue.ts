/**
 * Requests waiting for a free upstream connection of one endpoint (all of
 * its proxy.upstreamConnections are busy): first come, first served, at most
 * proxy.maxQueued of them, and none waits longer than proxy.queueTimeout
 * (HAProxy's `timeout queue`). undici's pool never queues behind this: an
 * endpoint dispatches only as many requests as it has connections.
 *
 * Waits are checked by one timer for the whole process, running only while
 * some endpoint has a waiter.
 */
import { performance } from 'node:perf_hooks'

export interface Waiter {
  /** A connection is free for it now. */
  admitted: () => void
  /** It waited longer than the queue timeout. */
  expired: () => void
}

interface Entry { waiter: Waiter | null, since: number }

export class WaitQueue {
  readonly #entries: Entry[] = []
  #head = 0
  /** Waiters not withdrawn. */
  size = 0
  readonly #timeout: number

  constructor (timeout: number) {
    this.#timeout = timeout
  }

  push (w: Waiter): void {
    this.#entries.push({ waiter: w, since: performance.now() })
    this.size++
    if (this.size === 1) waiting.add(this)
    startSweep(this.#timeout)
  }

  /** The oldest waiter still waiting, removed; null when none. */
  shift (): Waiter | null {
    while (this.#head < this.#entries.length) {
      const e = this.#entries[this.#head++]
      if (e.waiter === null) continue
      const w = e.waiter
      e.waiter = null
      this.#taken()
      return w
    }
    this.#compact()
    return null
  }

  /** A waiter gave up (its client left). */
  withdraw (w: Waiter): void {
    for (let i = this.#head; i < this.#entries.length; i++) {
      if (this.#entries[i].waiter === w) {
        this.#entries[i].waiter = null
        this.#taken()
        return
      }
    }
  }

  /** Expires the waiters older than the timeout (oldest first). */
  expire (now: number): void {
    while (this.#head < this.#entries.length) {
      const e = this.#entries[this.#head]
      if (e.waiter !== null && now - e.since <= this.#timeout) break
      this.#head++
      const w = e.waiter
      if (w === null) continue
      e.waiter = null
      this.#taken()
      w.expired()
    }
    this.#compact()
  }

  #taken (): void {
    this.size--
    if (this.size === 0) {
      waiting.delete(this)
      this.#entries.length = 0
      this.#head = 0
    }
  }

  #compact (): void {
    if (this.#head > 64 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head)
      this.#head = 0
    }
  }
}

const waiting = new Set<WaitQueue>()
let sweepTimer: NodeJS.Timeout | null = null

function startSweep (timeout: number): void {
  if (sweepTimer !== null) return
  sweepTimer = setInterval(sweep, Math.min(1000, Math.max(10, timeout / 10)))
  sweepTimer.unref()
}

function sweep (): void {
  const now = performance.now()
  for (const q of waiting) q.expire(now)
  if (waiting.size === 0 && sweepTimer !== null) {
    clearInterval(sweepTimer)
    sweepTimer = null
  }
}
