/**
 * The scheduler subsystem of a manager node: competes for the lease; while
 * it leads, reconciles on every registry change, every reconcileInterval and
 * when a deferred action (back-off, update delay, monitor window) falls due.
 *
 * Each pass reads the node's feed view, decides (plan.ts) and writes all its
 * changes in one store.write with `ifRev` (the revision the pass read) and
 * `fence` (our lease token). A revision conflict just means the view was
 * stale: the feed's next 'change' triggers a fresh pass. A fenced write means
 * another manager leads: step down at once. A registry being restored
 * refuses the write (MESH_ERR_REGISTRY_EPOCH): the pass after it retries.
 *
 * The leader's other duties start and stop with the lease: reading every
 * heartbeat for the whole cluster (liveness-monitor.ts), and its inbox
 * (inbox.ts: joined workers' reports folded in, join requests answered).
 */
import type { NodeContext, Subsystem } from '../node/context'
import { isMeshError } from '../errors'
import { refreshNodeRules } from '../node/provision'
import { describeRegistryError } from '../registry/errors'
import { createLogger, type Logger } from '../util/log'
import { Inbox } from './inbox'
import { JoinDesk } from './join-desk'
import { Lease } from './lease'
import { LivenessMonitor } from './liveness-monitor'
import { plan, type PlanOptions } from './plan'

const DEBOUNCE_MS = 15

export class Scheduler implements Subsystem {
  readonly lease: Lease
  readonly #monitor: LivenessMonitor
  readonly #inbox: Inbox
  readonly #ctx: NodeContext
  readonly #log: Logger
  readonly #options: PlanOptions
  readonly #onChange: () => void
  #interval: NodeJS.Timeout | null = null
  #kickTimer: NodeJS.Timeout | null = null
  #wakeTimer: NodeJS.Timeout | null = null
  #wakeAt = Infinity
  #running: Promise<void> | null = null
  #again = false
  #stopped = false
  #lastNotes = new Set<string>()

  constructor (ctx: NodeContext) {
    this.#ctx = ctx
    this.#log = createLogger('scheduler')
    const c = ctx.config
    this.#options = { historyLimit: c.tasks.historyLimit, backOff: { base: c.tasks.restartDelay, max: c.tasks.restartMaxDelay } }
    this.lease = new Lease(ctx.store.redis, ctx.store.keys, ctx.node.id, c.scheduler.leaseTtl)
    this.#monitor = new LivenessMonitor(ctx, this.lease, this.#log)
    this.#inbox = new Inbox(ctx, this.lease, this.#log, new JoinDesk(ctx, this.lease, this.#log))
    this.#onChange = () => { this.kick() }
  }

  get leader (): boolean { return this.lease.leader }

  start (): void {
    this.lease.on('acquired', (token: number) => {
      this.#log.info(`${this.#ctx.node.name} is the leader (fencing token ${token})`)
      this.#monitor.start()
      this.#inbox.start()
      this.kick()
      // Node users founded by an older version may lack read access to keys this one added.
      refreshNodeRules(this.#ctx.store, this.#ctx.feed.state.nodes.values()).then((n) => {
        if (n > 0) this.#log.debug('node users brought in line with this version\'s rules: %d', n)
      }, (err: unknown) => {
        this.#log.warn(`could not refresh the node users' Redis ACL rules: ${describeRegistryError(err)}`)
      })
    })
    this.lease.on('lost', (reason: string) => {
      if (!this.#stopped) this.#log.warn(`${this.#ctx.node.name} stepped down as leader: ${reason}`)
      void this.#stopDuties()
    })
    this.#ctx.feed.on('change', this.#onChange)
    this.#interval = setInterval(this.#onChange, this.#ctx.config.scheduler.reconcileInterval)
    this.#interval.unref()
    this.lease.start()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#ctx.feed.off('change', this.#onChange)
    for (const t of [this.#interval, this.#kickTimer, this.#wakeTimer]) if (t !== null) clearTimeout(t)
    await this.#running
    await this.lease.stop()
    await this.#stopDuties()
  }

  /** Never rejects. */
  async #stopDuties (): Promise<void> {
    await Promise.all([this.#monitor.stop(), this.#inbox.stop()]).catch((err: unknown) => {
      this.#log.debug('stopping the leader duties: %s', (err as Error).message)
    })
  }

  /** Asks for a pass soon (coalescing bursts of changes). */
  kick (): void {
    if (this.#stopped || !this.lease.leader) return
    if (this.#running !== null) {
      this.#again = true
      return
    }
    if (this.#kickTimer !== null) return
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = null
      this.#running = this.#loop().finally(() => { this.#running = null })
    }, DEBOUNCE_MS)
  }

  /** Never rejects: a pass that throws is logged (once per message) and the next change or interval runs another. */
  async #loop (): Promise<void> {
    do {
      this.#again = false
      try {
        await this.#pass()
        this.#log.reset('pass')
      } catch (err) {
        this.#log.once('pass', 'error', `reconcile pass failed (retried on the next change): ${(err as Error)?.stack ?? String(err)}`)
      }
    } while (this.#again && !this.#stopped && this.lease.leader)
  }

  async #pass (): Promise<void> {
    const feed = this.#ctx.feed
    const token = this.lease.token
    if (!feed.up || token === 0) return
    const state = feed.state
    // After a restore, a new epoch or a reconnect, nobody is judged dead for one heartbeat TTL (feed.graceUntil).
    const pass = plan(state, Date.now(), this.#options, feed.graceUntil)
    this.#schedule(pass.wakeAt)
    const notes = new Set(pass.notes)
    for (const n of notes) if (!this.#lastNotes.has(n)) this.#log.info(n)
    this.#lastNotes = notes
    if (!pass.changed) return
    try {
      await this.#ctx.store.write(pass.ops(), { ifRev: state.rev, fence: token })
    } catch (err) {
      if (isMeshError(err, 'MESH_ERR_REGISTRY_CONFLICT')) {
        this.#log.debug('registry moved on during a pass; the next change triggers another')
      } else if (isMeshError(err, 'MESH_ERR_REGISTRY_FENCED')) {
        this.lease.stepDown(err.message)
      } else if (isMeshError(err, 'MESH_ERR_REGISTRY_EPOCH')) {
        this.#log.debug('registry being restored or re-read: %s', err.message)
        this.#schedule(Date.now() + 200)
        return
      } else {
        this.#log.once('write', 'warn', `scheduler write failed: ${(err as Error).message}`)
        return
      }
    }
    this.#log.reset('write')
  }

  #schedule (at: number): void {
    if (at === Infinity || at >= this.#wakeAt) return
    if (this.#wakeTimer !== null) clearTimeout(this.#wakeTimer)
    this.#wakeAt = at
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null
      this.#wakeAt = Infinity
      this.kick()
    }, Math.max(0, at - Date.now()) + 5)
    this.#wakeTimer.unref()
  }
}

export function startScheduler (ctx: NodeContext): Scheduler {
  const scheduler = new Scheduler(ctx)
  scheduler.start()
  return scheduler
}
