/**
 * A node's membership in the cluster: its record in the registry, the
 * heartbeat key (TTL) that says it is alive and which revision it serves, and
 * leaving cleanly on shutdown.
 */
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

  constructor (store: RegistryStore, feed: RegistryFeed, node: NodeIdentity, options: MembershipOptions, servedRev: () => number) {
    this.#store = store
    this.#feed = feed
    this.#node = node
    this.#options = options
    this.#servedRev = servedRev
  }

  async start (): Promise<void> {
    await this.#beat()
    this.#timer = setInterval(() => { this.#beat().catch(() => {}) }, this.#options.heartbeatInterval)
    this.#timer.unref()
  }

  async #beat (): Promise<void> {
    try {
      const known = await this.#store.heartbeat(this.#node.id, this.#options.heartbeatTtl, this.#servedRev())
      if (!known || !this.#registered) await this.#register()
    } catch (err) {
      log.debug('heartbeat failed: %s', (err as Error).message)
    }
  }

  async #register (): Promise<void> {
    const previous = this.#feed.state.nodes.get(this.#node.id)
    const record: NodeRecord = {
      v: SCHEMA_VERSION,
      id: this.#node.id,
      name: this.#node.name,
      addr: this.#node.addr,
      role: this.#node.role,
      // A node that was drained or paused stays so across restarts, as in Swarm.
      availability: previous?.availability ?? 'active',
      joinedAt: Date.now(),
      status: 'ready',
      admin: this.#options.admin
    }
    // The heartbeat key is already set (#beat), so a reader that sees this record also sees the node alive.
    await this.#store.write([{ type: 'node', id: record.id, value: record }])
    if (!this.#registered) log.info(`node ${this.#node.name} (${this.#node.id.slice(0, 12)}) joined as ${this.#node.role} at ${this.#node.addr}`)
    else log.info(`node ${this.#node.name} registered again (registry lost its record)`)
    this.#registered = true
  }

  /** Leaves: the heartbeat goes at once (tables drop this node's tasks), the record says down. */
  async leave (): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    try {
      await this.#store.clearHeartbeat(this.#node.id)
      const current = this.#feed.state.nodes.get(this.#node.id)
      if (current !== undefined) await this.#store.write([{ type: 'node', id: current.id, value: { ...current, status: 'down' } }])
      log.info(`node ${this.#node.name} left`)
    } catch (err) {
      log.warn(`could not deregister (${(err as Error).message}); the heartbeat expires by itself`)
    }
  }
}
