/**
 * A joined node's role follows its record: `mesh node promote` makes its
 * user a manager's and its record say manager, and the daemon then starts
 * its scheduler (it competes for the lease) and writes its own state
 * directly; `mesh node demote` the other way round. A node on the cluster's
 * admin credential keeps the role its flags gave it (--manager).
 */
import { createLogger } from '../util/log'
import type { NodeContext, Subsystem } from './context'

const log = createLogger('node')

export class RoleWatch implements Subsystem {
  readonly #ctx: NodeContext
  readonly #start: () => Subsystem
  readonly #onChange: () => void
  #scheduler: Subsystem | null = null
  #switching: Promise<void> = Promise.resolve()
  #stopped = false

  constructor (ctx: NodeContext, startScheduler: () => Subsystem) {
    this.#ctx = ctx
    this.#start = startScheduler
    this.#onChange = () => { this.#follow() }
    if (ctx.node.role === 'manager') this.#scheduler = this.#start()
    if (ctx.node.user !== undefined) ctx.feed.on('change', this.#onChange)
  }

  /** The scheduler while this node is a manager. */
  get scheduler (): Subsystem | null { return this.#scheduler }

  #follow (): void {
    const node = this.#ctx.node
    const role = this.#ctx.feed.state.nodes.get(node.id)?.role
    if (this.#stopped || role === undefined || role === node.role) return
    node.role = role
    log.info(`node ${node.name} is now a ${role}`)
    this.#switching = this.#switching.then(async () => {
      if (this.#stopped) return
      if (role === 'manager' && this.#scheduler === null) this.#scheduler = this.#start()
      if (role === 'worker' && this.#scheduler !== null) {
        const s = this.#scheduler
        this.#scheduler = null
        await s.stop()
      }
    }).catch((err: unknown) => { log.error(`switching to ${role} failed: ${(err as Error)?.stack ?? String(err)}`) })
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#ctx.feed.off('change', this.#onChange)
    await this.#switching
    await this.#scheduler?.stop()
  }
}
