/**
 * Liveness grace: after an event that can make heartbeat keys vanish without
 * their nodes dying (the registry restored after a flush or an empty restart,
 * a new epoch, a reconnect after an outage), the nodes that were alive just
 * before it are held alive for one heartbeat TTL. Live nodes beat again well
 * within it; only a node that really is gone drops out, one TTL later. So
 * no table loses its endpoints and no scheduler judges a node dead because
 * liveness keys vanished with the old Redis.
 */
export class LivenessGrace {
  readonly #ttl: number
  #until = 0
  #held: ReadonlySet<string> = new Set()

  constructor (ttl: number) {
    this.#ttl = ttl
  }

  /** Date.now() until which no node is judged dead (0: no grace). */
  get until (): number { return this.#until }

  active (now = Date.now()): boolean { return now < this.#until }

  /** Starts (or extends) the grace, holding `alive` (and whatever is held already). */
  open (alive: ReadonlySet<string>, now = Date.now()): void {
    const held = new Set(this.active(now) ? this.#held : [])
    for (const id of alive) held.add(id)
    this.#held = held
    this.#until = now + this.#ttl
  }

  /** The alive set to believe: `live` plus, during the grace, the held nodes. */
  apply (live: Set<string>, now = Date.now()): Set<string> {
    if (!this.active(now)) {
      this.#held = new Set()
      return live
    }
    let out: Set<string> | null = null
    for (const id of this.#held) {
      if (live.has(id)) continue
      out ??= new Set(live)
      out.add(id)
    }
    return out ?? live
  }
}
