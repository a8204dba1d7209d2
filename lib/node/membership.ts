/**
 * A node's membership in the cluster: its status in the registry, the
 * heartbeat key (TTL) that says it is alive and which revision it serves,
 * and leaving cleanly on shutdown.
 *
 * - The heartbeat is one SET with a TTL, plus a read of the cluster epoch in
 *   the same round trip (a flushed registry is noticed within a beat). Only
 *   the leading manager reads everyone's heartbeats (scheduler/liveness-monitor.ts).
 * - The node reports its own status (ready, its admin address) through its
 *   report sink: directly, or folded in by the leader for a joined worker.
 *   It reports again whenever its view of the registry lacks it (a registry
 *   restored without it, say), at most once a heartbeat TTL.
 * - A node on the cluster's admin credential (`mesh node start --redis URL`)
 *   also writes its own spec, by compare-and-set (registry/cas.ts
 *   updateRecord), so an operator's `node update --availability drain`
 *   written meanwhile stands. It may not claim the name of a node that
 *   joined with its own credential (MESH_ERR_NODE_CLAIMED).
 * - Leaving waits for a heartbeat in flight before it deletes the key, so no
 *   late beat brings a node that left back to life for a TTL.
 */
import { MeshError } from '../errors'
import { updateRecord } from '../registry/cas'
import type { RegistryFeed } from '../registry/feed'
import { directSink, type ReportSink } from '../registry/report-sink'
import type { RegistryStore } from '../registry/store'
import { SCHEMA_VERSION, type NodeRecord } from '../registry/types'
import { describeRegistryError } from '../registry/errors'
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
  readonly #sink: ReportSink
  #timer: NodeJS.Timeout | null = null
  #registered = false
  #leaving = false
  /** Date.now() of the last status report (a joined worker's goes through the leader). */
  #reportedAt = 0
  /** The heartbeat (and any registration it triggered) in flight. */
  #beating: Promise<void> | null = null

  constructor (store: RegistryStore, feed: RegistryFeed, node: NodeIdentity, options: MembershipOptions, servedRev: () => number, sink: ReportSink = directSink(store)) {
    this.#store = store
    this.#feed = feed
    this.#node = node
    this.#options = options
    this.#servedRev = servedRev
    this.#sink = sink
  }

  /** Registers (throws MESH_ERR_NODE_CLAIMED when the name belongs to a joined node) and starts beating. */
  async start (): Promise<void> {
    this.#claimCheck(this.#feed.state.nodes.get(this.#node.id))
    // A daemon on the admin credential is identified by its name: one that joined with its own credential owns that name.
    if (this.#node.user === undefined) for (const n of this.#feed.state.nodes.values()) if (n.name === this.#node.name) this.#claimCheck(n)
    await this.#tick()
    this.#timer = setInterval(() => { void this.#tick() }, this.#options.heartbeatInterval)
    this.#timer.unref()
  }

  /** A joined node's record belongs to its own credential: a daemon on the admin credential may not take it over. */
  #claimCheck (current: NodeRecord | null | undefined): void {
    const joined = current?.user ?? ''
    if (current == null || joined === '' || joined === (this.#node.user ?? '')) return
    throw new MeshError('MESH_ERR_NODE_CLAIMED', `node ${this.#node.name} (${current.id.slice(0, 12)}) joined the cluster with its own credential: ` +
      'a second daemon cannot claim it; give this one another --name, or remove that node first (mesh node rm)')
  }

  /** One heartbeat at a time; never rejects. */
  async #tick (): Promise<void> {
    if (this.#leaving || this.#beating !== null) return
    this.#beating = this.#beat().finally(() => { this.#beating = null })
    await this.#beating
  }

  async #beat (): Promise<void> {
    try {
      const epoch = await this.#store.heartbeat(this.#node.id, this.#options.heartbeatTtl, this.#servedRev())
      log.reset('beat')
      this.#feed.noticeEpoch(epoch)
      if (!this.#leaving && this.#due()) await this.#register()
    } catch (err) {
      if ((err as MeshError).code === 'MESH_ERR_NODE_CLAIMED') log.once('claimed', 'error', (err as Error).message)
      else log.once('beat', 'warn', `heartbeat failed (${describeRegistryError(err)}); retrying`)
      log.debug('heartbeat failed: %s', (err as Error).message)
    }
  }

  /**
   * Not registered in this life, or the view lacks this node (a registry
   * restored without it) or shows a stale admin address: at most once a
   * TTL, a report may be on its way. A status down is this node's own
   * leave, never undone here.
   */
  #due (): boolean {
    if (!this.#registered) return true
    const seen = this.#feed.state.nodes.get(this.#node.id)
    const stale = seen === undefined || (seen.status === 'ready' && seen.admin !== this.#options.admin)
    return stale && Date.now() - this.#reportedAt >= this.#options.heartbeatTtl
  }

  async #register (): Promise<void> {
    const n = this.#node
    this.#reportedAt = Date.now()
    // The heartbeat key is already set (#beat), so a reader that sees this node ready also finds it beating.
    if (n.user === undefined) await this.#writeOwnSpec()
    await this.#sink.report([{ type: 'nodeStatus', id: n.id, value: { v: SCHEMA_VERSION, status: 'ready', admin: this.#options.admin, at: Date.now() } }])
    if (!this.#registered) log.info(`node ${n.name} (${n.id.slice(0, 12)}) joined as ${n.role} at ${n.addr}`)
    else log.info(`node ${n.name} reported its status again (the registry's view of it was missing or stale)`)
    this.#registered = true
  }

  /** A node on the admin credential declares itself: name, address, role; an availability set by an operator stands. */
  async #writeOwnSpec (): Promise<void> {
    const n = this.#node
    await updateRecord(this.#store, 'node', n.id, (current): NodeRecord | undefined => {
      this.#claimCheck(current)
      const mine = { name: n.name, addr: n.addr, role: n.role, status: 'ready', admin: this.#options.admin } as const
      // Already registered as this node (the record came back with a restore, say): nothing to write.
      if (current !== null && (Object.keys(mine) as Array<keyof typeof mine>).every((k) => current[k] === mine[k])) return undefined
      return {
        v: SCHEMA_VERSION,
        id: n.id,
        ...mine,
        // A node that was drained or paused stays so across restarts, as in Swarm; the operator's value always stands.
        availability: current?.availability ?? this.#feed.state.nodes.get(n.id)?.availability ?? 'active',
        joinedAt: current?.joinedAt ?? Date.now()
      }
    })
  }

  /** Leaves: the heartbeat goes at once (tables drop this node's tasks), the status says down. */
  async leave (): Promise<void> {
    this.#leaving = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#beating
    try {
      await this.#store.clearHeartbeat(this.#node.id)
      await this.#sink.report([{ type: 'nodeStatus', id: this.#node.id, value: { v: SCHEMA_VERSION, status: 'down', admin: this.#options.admin, at: Date.now() } }])
      log.info(`node ${this.#node.name} left`)
    } catch (err) {
      log.warn(`could not deregister (${describeRegistryError(err)}); the heartbeat expires by itself`)
    }
  }
}
