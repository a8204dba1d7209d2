/**
 * Node liveness, read once for the whole cluster: while this manager leads,
 * every `registry.livenessInterval` it reads every node's heartbeat key in
 * one MGET and writes its verdicts to the feed as liveness records, only
 * when one changes: a registered node whose key expired is declared dead,
 * one that beats again alive. Every other node learns liveness from the
 * feed, so an idle node costs the registry the same whatever the cluster's
 * size (README "Liveness").
 *
 * After a restore, a new epoch or a reconnect it declares nobody dead for
 * one heartbeat TTL (feed.graceUntil): heartbeat keys may have vanished with
 * the old Redis while their nodes live on. Every verdict carries the lease's
 * fencing token, so a paused leader cannot overrule its successor.
 */
import { isMeshError } from '../errors'
import type { NodeContext } from '../node/context'
import { describeRegistryError } from '../registry/errors'
import type { WriteOp } from '../registry/store'
import { SCHEMA_VERSION } from '../registry/types'
import type { Logger } from '../util/log'
import type { Lease } from './lease'

export class LivenessMonitor {
  readonly #ctx: NodeContext
  readonly #lease: Lease
  readonly #log: Logger
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #stopped = false

  constructor (ctx: NodeContext, lease: Lease, log: Logger) {
    this.#ctx = ctx
    this.#lease = lease
    this.#log = log
  }

  start (): void {
    this.#stopped = false
    this.#timer = setInterval(() => { this.check() }, this.#ctx.config.registry.livenessInterval)
    this.#timer.unref()
    this.check()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One check now (never two at once); never rejects. */
  check (): void {
    if (this.#stopped || this.#running !== null || !this.#lease.leader) return
    this.#running = this.#check().catch((err: unknown) => {
      this.#log.once('liveness', 'warn', `liveness check failed (retried every ${this.#ctx.config.registry.livenessInterval} ms): ${describeRegistryError(err)}`)
    }).finally(() => { this.#running = null })
  }

  async #check (): Promise<void> {
    const { feed, store } = this.#ctx
    if (!feed.up) return
    const state = feed.state
    const verdicts = feed.parts.liveness
    const ids = [...state.nodes.keys()]
    const beating = await store.beating(ids)
    this.#log.reset('liveness')
    const now = Date.now()
    const graceful = now < feed.graceUntil
    const ops: WriteOp[] = []
    const news: string[] = []
    for (const id of ids) {
      const node = state.nodes.get(id)
      if (node === undefined) continue
      const was = verdicts.get(id)?.alive !== false
      const is = beating.has(id)
      if (is && !was) {
        ops.push({ type: 'liveness', id, value: { v: SCHEMA_VERSION, alive: true, at: now, by: this.#ctx.node.id } })
        news.push(`node ${node.name} (${id.slice(0, 12)}) beats again: alive`)
      } else if (!is && was && node.status === 'ready' && !graceful) {
        ops.push({ type: 'liveness', id, value: { v: SCHEMA_VERSION, alive: false, at: now, by: this.#ctx.node.id } })
        news.push(`node ${node.name} (${id.slice(0, 12)}) is down: its heartbeat expired (node.heartbeatTtl ${this.#ctx.config.node.heartbeatTtl} ms)`)
      }
    }
    if (ops.length === 0 || !this.#lease.leader) return
    try {
      await store.write(ops, { fence: this.#lease.token })
    } catch (err) {
      if (isMeshError(err, 'MESH_ERR_REGISTRY_FENCED')) this.#lease.stepDown(err.message)
      else if (!isMeshError(err, 'MESH_ERR_REGISTRY_EPOCH')) throw err
      return
    }
    for (const n of news) this.#log.info(n)
  }
}
