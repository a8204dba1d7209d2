/**
 * Node liveness, read once for the whole cluster: while this manager leads,
 * every `registry.livenessInterval` it reads every node's heartbeat key in
 * one MGET and writes its verdicts to the feed as liveness records, only
 * when one changes: a registered node whose key expired is declared dead,
 * one that beats again alive. Every other node learns liveness from the
 * feed, so an idle node costs the registry the same whatever the cluster's
 * size (README "Liveness").
 *
 * It declares a node dead only after watching the registry without a
 * break for one heartbeat TTL: since it led, since its own connection was
 * last (re)established (a Sentinel failover or any reconnect: the keys it
 * reads may have expired while nobody could beat), and since its last
 * failed or late check. A node then had a whole TTL to beat where the
 * monitor looks. After a restore or a new epoch the feed's grace
 * (feed.graceUntil) holds everyone alive as well. Every verdict carries the
 * lease's fencing token, so a paused leader cannot overrule its successor.
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
  /** Date.now() since which checks succeeded without a break (null: broken; see the file's comment). */
  #watchingSince: number | null = null
  #lastCheckAt = 0
  readonly #onReady = (): void => { this.#watchingSince = null }

  constructor (ctx: NodeContext, lease: Lease, log: Logger) {
    this.#ctx = ctx
    this.#lease = lease
    this.#log = log
  }

  start (): void {
    this.#stopped = false
    this.#watchingSince = null
    this.#ctx.store.redis.on('ready', this.#onReady)
    this.#timer = setInterval(() => { this.check() }, this.#ctx.config.registry.livenessInterval)
    this.#timer.unref()
    this.check()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#ctx.store.redis.off('ready', this.#onReady)
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One check now (never two at once); never rejects. */
  check (): void {
    if (this.#stopped || this.#running !== null) return
    if (!this.#lease.leader) { this.#watchingSince = null; return }
    this.#running = this.#check().catch((err: unknown) => {
      this.#watchingSince = null
      this.#log.once('liveness', 'warn', `liveness check failed (retried every ${this.#ctx.config.registry.livenessInterval} ms): ${describeRegistryError(err)}`)
    }).finally(() => { this.#running = null })
  }

  async #check (): Promise<void> {
    const { feed, store } = this.#ctx
    if (!feed.up) { this.#watchingSince = null; return }
    const state = feed.state
    const verdicts = feed.parts.liveness
    const ids = [...state.nodes.keys()]
    const beating = await store.beating(ids)
    this.#log.reset('liveness')
    const now = Date.now()
    const ttl = this.#ctx.config.node.heartbeatTtl
    // A check later than a TTL after the last one (a stalled process, a slow registry) breaks the watch too.
    if (this.#watchingSince === null || now - this.#lastCheckAt > ttl) this.#watchingSince = now
    this.#lastCheckAt = now
    const graceful = now < feed.graceUntil || now - this.#watchingSince < ttl
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
