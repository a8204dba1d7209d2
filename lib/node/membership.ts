/**
 * A node's membership in the cluster: its record in the registry, the
 * heartbeat key (TTL) that says it is alive and which revision it serves, and
 * leaving cleanly on shutdown.
 *
 * The record is written by compare-and-set (registry/cas.ts updateRecord):
 * registering again or leaving changes only the fields this node owns, so an
 * operator's `node update --availability drain` written meanwhile stands.
 * Leaving waits for a heartbeat in flight before it deletes the key, so no
 * late beat brings a node that left back to life for a TTL.
 */
import { updateRecord } from '../registry/cas'
import type { RegistryFeed } from '../registry/feed'
import type { RegistryStore } from '../registry/store'
import { SCHEMA_VERSION, type NodeRecord } from '../registry/types'
import { createLogger } from '../util/log'
import type { NodeIdentity } from './context'

const log = createLogger('node')

export interface MembershipOptions {
  heartbeatInterval: number
  heartbeatTtl: number
  admin: string
}

export class Membership {
  readonly #store: RegistryStore
  readonly #feed: RegistryFeed
  readonly #node: NodeIdentity
  readonly #options: MembershipOptions
  readonly #servedRev: () => number
  #timer: NodeJS.Timeout | null = null
  #registered = false
  #leaving = false
  /** The heartbeat (and any registration it triggered) in flight. */
  #beating: Promise<void> | null = null

  constructor (store: RegistryStore, feed: RegistryFeed, node: NodeIdentity, options: MembershipOptions, servedRev: () => number) {
    this.#store = store
    this.#feed = feed
    this.#node = node
    this.#options = options
    this.#servedRev = servedRev
  }

  async start (): Promise<void> {
    await this.#tick()
    this.#timer = setInterval(() => { void this.#tick() }, this.#options.heartbeatInterval)
    this.#timer.unref()
  }

  /** One heartbeat at a time; never rejects. */
  async #tick (): Promise<void> {
    if (this.#leaving || this.#beating !== null) return
    this.#beating = this.#beat().finally(() => { this.#beating = null })
    await this.#beating
  }

  async #beat (): Promise<void> {
    try {
      const known = await this.#store.heartbeat(this.#node.id, this.#options.heartbeatTtl, this.#servedRev())
      if ((!known || !this.#registered) && !this.#leaving) await this.#register()
    } catch (err) {
      log.debug('heartbeat failed: %s', (err as Error).message)
    }
  }

  async #register (): Promise<void> {
    const n = this.#node
    let wrote = false
    await updateRecord(this.#store, 'node', n.id, (current): NodeRecord | undefined => {
      const mine = { name: n.name, addr: n.addr, role: n.role, status: 'ready', admin: this.#options.admin } as const
      // Already registered as this node (the record came back with a restore, say): nothing to write.
      wrote = !(current !== null && (Object.keys(mine) as Array<keyof typeof mine>).every((k) => current[k] === mine[k]))
      if (!wrote) return undefined
      return {
        v: SCHEMA_VERSION,
        id: n.id,
        ...mine,
        // A node that was drained or paused stays so across restarts, as in Swarm; the operator's value always stands.
        availability: current?.availability ?? this.#feed.state.nodes.get(n.id)?.availability ?? 'active',
        joinedAt: Date.now()
      }
    })
    // The heartbeat key is already set (#beat), so a reader that sees this record also sees the node alive.
    if (!this.#registered) log.info(`node ${n.name} (${n.id.slice(0, 12)}) joined as ${n.role} at ${n.addr}`)
    else if (wrote) log.info(`node ${n.name} registered again (registry lost its record)`)
    this.#registered = true
  }

  /** Leaves: the heartbeat goes at once (tables drop this node's tasks), the record says down. */
  async leave (): Promise<void> {
    this.#leaving = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#beating
    try {
      await this.#store.clearHeartbeat(this.#node.id)
      await updateRecord(this.#store, 'node', this.#node.id, (current) => current === null ? undefined : { ...current, status: 'down' })
      log.info(`node ${this.#node.name} left`)
    } catch (err) {
      log.warn(`could not deregister (${(err as Error).message}); the heartbeat expires by itself`)
    }
  }
}
