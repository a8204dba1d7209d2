/**
 * The node agent: runs the tasks the scheduler assigned to this node as
 * child processes and reports what actually happens to them.
 *
 *   assigned -> preparing (port picked) -> starting (spawned; host, port, pid)
 *            -> running (the port accepts TCP: that is readiness)
 *            -> complete | failed (exit code, signal or OS error) | shutdown
 *
 * Restarts are the scheduler's job, not the agent's (Swarm's design): the
 * agent reports how a task ended and never reruns it; the scheduler puts a
 * new task in the same slot after the back-off (task-rules.ts), possibly on
 * another node, and `service ps` shows the ended one as history. One place
 * decides, whether the process crashed or its node died.
 *
 * Removal (desired shutdown/remove): the data plane drops the task from its
 * table on that change; the agent waits tasks.drainDelay so in-flight
 * requests finish on every node, then SIGTERM, SIGKILL after the service's
 * stop grace, then reports shutdown.
 *
 * Daemon shutdown: leave() first (this node's tasks leave every table while
 * they run, see leave.ts), then the daemon drains its listeners, then stop()
 * ends the processes, at least tasks.drainDelay after the leave (SIGTERM: a
 * task finishes what it has in flight).
 *
 * Each task runs under a supervisor process (supervisor.ts) that kills it
 * when the daemon dies, so no task outlives a SIGKILLed daemon by more than
 * its stop grace. A task gets a minimal environment: PATH, HOME, LANG, TZ
 * of the daemon's, the service's env, the task variables; nothing else.
 */
import { join } from 'node:path'
import { inheritedTaskEnv } from '../config/load'
import { reportsOf, type NodeContext, type Subsystem } from '../node/context'
import { describeRegistryError } from '../registry/errors'
import type { ServiceSpec, TaskRecord, TaskState } from '../registry/types'
import { isActiveState, taskName } from '../scheduler/task-rules'
import { createLogger, type Logger } from '../util/log'
import { awaitServed, writeLeave } from './leave'
import { LogShipper } from './logs'
import { killOrphans, killTask, OWNER_VAR, ownerTag } from './orphans'
import { PortAllocator } from './ports'
import { Reporter } from './report'
import { describeOutcome, TaskProcess, type Outcome } from './task-process'

/** This package's CLI, so a service command `mesh whoami ...` needs no global install. */
export const MESH_CLI = join(__dirname, '..', 'cli', 'main.js')

const ENDED: ReadonlySet<TaskState> = new Set(['complete', 'failed', 'shutdown', 'rejected'])

interface Owned {
  id: string
  spec: ServiceSpec
  proc: TaskProcess | null
  port: number
  running: boolean
  stopping: boolean
}

export class Agent implements Subsystem {
  readonly #ctx: NodeContext
  readonly #log: Logger
  readonly #ports: PortAllocator
  readonly #reporter: Reporter
  readonly #logs: LogShipper
  readonly #owned = new Map<string, Owned>()
  /** Tasks this agent has handled in this life (so a stale 'running' record of ours is not taken for an orphan). */
  readonly #known = new Set<string>()
  readonly #onChange: () => void
  /** MESH_TASK_OWNER of this node's tasks (orphans.ts). */
  readonly #owner: string
  #timer: NodeJS.Timeout | null = null
  #stopped = false
  #leaving: Promise<void> | null = null
  /** When this node's tasks had left every table (0: not yet). */
  #leftAt = 0

  constructor (ctx: NodeContext) {
    this.#ctx = ctx
    this.#log = createLogger('agent')
    this.#ports = new PortAllocator(ctx.node.addr, ctx.config.tasks.portRange)
    this.#reporter = new Reporter(reportsOf(ctx), ctx.feed, (err) => {
      this.#log.once('report', 'warn', `task state report failed, retrying: ${describeRegistryError(err)}`)
    })
    this.#logs = new LogShipper(ctx.store.redis, ctx.store.keys, ctx.node.name, ctx.config.tasks.logMaxLen, this.#log)
    this.#onChange = () => { this.#reconcile() }
    this.#owner = ownerTag(ctx.config.redis.url, ctx.config.redis.prefix, ctx.node.id)
  }

  /** Task ids with a process of ours (for tests and metrics). */
  get running (): string[] { return [...this.#owned.keys()] }

  start (): void {
    // Before this life starts any task: whatever carries our owner tag is left from a previous one.
    const orphans = killOrphans(this.#owner, new Set(this.#owned.keys()))
    if (orphans.length > 0) this.#log.info(`stopped ${orphans.length} task process(es) left by a previous run of this node (tasks ${[...new Set(orphans)].join(', ')})`)
    this.#ctx.feed.on('change', this.#onChange)
    this.#timer = setInterval(this.#onChange, this.#ctx.config.scheduler.reconcileInterval)
    this.#timer.unref()
    if (this.#ctx.feed.state.epoch !== '') this.#reconcile()
  }

  /**
   * Daemon shutdown, first step: the agent takes no new task, and this
   * node's tasks leave every node's routing table while their processes
   * keep serving what is in flight: one write (node down, its tasks
   * shutdown), then wait until every live node serves it, at most
   * node.heartbeatTtl. Idempotent.
   */
  async leave (): Promise<void> {
    this.#leaving ??= this.#leave()
    await this.#leaving
  }

  async #leave (): Promise<void> {
    this.#stopped = true
    this.#ctx.feed.off('change', this.#onChange)
    if (this.#timer !== null) clearInterval(this.#timer)
    const { store, feed, node, config } = this.#ctx
    const t0 = Date.now()
    try {
      const mine = [...this.#owned.keys()].map((id) => this.#reporter.current(id)).filter((x): x is TaskRecord => x !== null)
      const { rev, reported } = await writeLeave(reportsOf(this.#ctx), node.id, config.node.admin, mine, config.node.heartbeatTtl)
      for (const task of reported) this.#reporter.noteReported(task)
      if (rev === null) {
        this.#leftAt = Date.now()
        this.#log.warn(`leaving: no manager folded this node's leave report in within ${config.node.heartbeatTtl} ms (is a manager running?); stopping the tasks anyway`)
        return
      }
      const behind = await awaitServed(store, [...feed.state.alive], rev, config.node.heartbeatTtl)
      this.#leftAt = Date.now()
      if (behind.length > 0) this.#log.warn(`leaving: ${behind.length} node(s) did not serve revision ${rev} within ${config.node.heartbeatTtl} ms (${behind.map((id) => feed.state.nodes.get(id)?.name ?? id).join(', ')}); stopping the tasks anyway`)
      else this.#log.info(`left every routing table (revision ${rev}) in ${Date.now() - t0} ms`)
    } catch (err) {
      this.#log.warn(`could not leave the routing tables through the registry (${(err as Error).message}); stopping the tasks anyway`)
    }
  }

  /**
   * Daemon shutdown, last step: tasks.drainDelay after the leave (requests
   * other nodes sent before it finish, as for a removed task), every task
   * gets SIGTERM (SIGKILL after its grace) and is reported shutdown.
   */
  async stop (): Promise<void> {
    await this.leave()
    const wait = this.#leftAt + this.#ctx.config.tasks.drainDelay - Date.now()
    if (this.#leftAt > 0 && wait > 0 && this.#owned.size > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    await Promise.all([...this.#owned.values()].map(async (o) => { await this.#stop(o, 0) }))
    await this.#reporter.flush(2000)
    await this.#logs.flush()
  }

  #reconcile (): void {
    if (this.#stopped) return
    const me = this.#ctx.node.id
    const tasks = this.#ctx.feed.state.tasks
    for (const [id, o] of this.#owned) {
      if (!tasks.has(id) && !o.stopping) void this.#stop(o, 0) // record deleted under us
    }
    for (const id of this.#known) if (!tasks.has(id) && !this.#owned.has(id)) this.#known.delete(id)
    for (const t of tasks.values()) {
      if (t.node !== me || t.static) continue
      const owned = this.#owned.get(t.id)
      if (t.desired === 'running') {
        if (owned !== undefined || this.#known.has(t.id)) continue
        this.#known.add(t.id)
        if (t.state === 'new' || t.state === 'assigned') void this.#launch(t)
        else if (isActiveState(t.state)) this.#adoptOrphan(t, 'failed', 'orphaned after node restart')
      } else if (owned !== undefined) {
        if (!owned.stopping) void this.#stop(owned, owned.running ? this.#ctx.config.tasks.drainDelay : 0)
      } else if (!this.#known.has(t.id) && (isActiveState(t.state) || t.state === 'orphaned')) {
        this.#known.add(t.id)
        this.#adoptOrphan(t, 'shutdown', '')
      }
    }
  }

  /**
   * A task record says a process of this node runs it, but this agent never
   * started it (the daemon restarted). Kill the stray process if it is
   * provably that task's (its environment carries MESH_TASK_ID), report it.
   */
  #adoptOrphan (t: TaskRecord, state: 'failed' | 'shutdown', error: string): void {
    killTask(t.pid, t.id)
    if (t.state === 'orphaned') return
    void this.#reporter.report(t.id, (cur) => isActiveState(cur.state) ? { state, error, stateAt: Date.now() } : null)
  }

  #specFor (t: TaskRecord): ServiceSpec | null {
    const spec = this.#ctx.feed.state.services.get(t.service)
    if (spec === undefined || spec.id !== t.serviceId) return null
    if (spec.version === t.specVersion) return spec
    if (spec.previous !== null && spec.previous.version === t.specVersion) return { ...spec.previous, previous: null }
    return null
  }

  async #launch (t: TaskRecord): Promise<void> {
    const spec = this.#specFor(t)
    if (spec === null) {
      await this.#reporter.report(t.id, (cur) => isActiveState(cur.state)
        ? { state: 'rejected', error: `service ${t.service} version ${t.specVersion} no longer exists`, stateAt: Date.now() }
        : null)
      return
    }
    const o: Owned = { id: t.id, spec, proc: null, port: 0, running: false, stopping: false }
    this.#owned.set(t.id, o)
    const stillWanted = (cur: TaskRecord): boolean => cur.desired === 'running' && !o.stopping
    await this.#reporter.report(t.id, (cur) => stillWanted(cur) && (cur.state === 'new' || cur.state === 'assigned')
      ? { state: 'preparing', stateAt: Date.now() }
      : null)
    const port = await this.#ports.take()
    const range = this.#ctx.config.tasks.portRange
    if (port === null) {
      this.#owned.delete(t.id)
      await this.#reporter.report(t.id, (cur) => isActiveState(cur.state)
        ? { state: 'rejected', error: `no free port in tasks.portRange ${range.from}-${range.to} on ${this.#ctx.node.addr}`, stateAt: Date.now() }
        : null)
      return
    }
    o.port = port
    if (o.stopping || this.#stopped) {
      this.#ports.release(port)
      this.#owned.delete(t.id)
      await this.#reporter.report(t.id, (cur) => isActiveState(cur.state) ? { state: 'shutdown', stateAt: Date.now() } : null)
      return
    }
    const node = this.#ctx.node
    const name = taskName(t)
    const [file, args] = this.#resolve(spec.command)
    const proc = new TaskProcess({
      file,
      args,
      env: this.#env(spec, t, name, port),
      host: node.addr,
      port,
      grace: spec.stopGrace,
      onLine: (stream, line) => { this.#logs.push({ service: spec.name, serviceId: spec.id, task: t.id, name, stream, line }) }
    })
    o.proc = proc
    void proc.done.then(async (outcome) => { await this.#ended(o, outcome) })
    if (!(await proc.start())) return // `done` reports the OS error
    this.#log.debug('started %s (%s) pid %d on %s:%d', name, t.id, proc.pid, node.addr, port)
    await this.#reporter.report(t.id, (cur) => isActiveState(cur.state)
      ? { state: 'starting', host: node.addr, port, pid: proc.pid, error: '', stateAt: Date.now() }
      : null)
    if (await proc.waitReady()) {
      o.running = true
      await this.#reporter.report(t.id, (cur) => cur.state === 'starting' || cur.state === 'preparing'
        ? { state: 'running', stateAt: Date.now() }
        : null)
    }
  }

  async #ended (o: Owned, outcome: Outcome): Promise<void> {
    this.#owned.delete(o.id)
    if (o.port > 0) this.#ports.release(o.port)
    const error = o.stopping ? '' : describeOutcome(outcome)
    const state: TaskState = o.stopping ? 'shutdown' : error === '' ? 'complete' : 'failed'
    const exitCode = outcome.kind === 'exit' ? outcome.code : null
    if (!o.stopping) this.#log.info(`task ${o.spec.name} ${o.id} ended: ${error === '' ? 'complete' : error}`)
    await this.#reporter.report(o.id, (cur) => ENDED.has(cur.state) && cur.state !== 'shutdown' && state === 'shutdown'
      ? null
      : { state, error, exitCode, stateAt: Date.now() })
  }

  async #stop (o: Owned, drainDelay: number): Promise<void> {
    o.stopping = true
    if (o.proc === null) return // #launch sees `stopping` and reports shutdown
    await o.proc.stop(drainDelay)
  }

  #resolve (command: string[]): [string, string[]] {
    if (command[0] === 'mesh') return [process.execPath, [MESH_CLI, ...command.slice(1)]]
    return [command[0], command.slice(1)]
  }

  /**
   * The task's environment, built from nothing: PATH, HOME, LANG and TZ of
   * the daemon's (inheritedTaskEnv: never its credentials or MESH_*
   * configuration), then the service's env, then the task variables.
   */
  #env (spec: ServiceSpec, t: TaskRecord, name: string, port: number): NodeJS.ProcessEnv {
    return {
      ...inheritedTaskEnv(),
      ...spec.env,
      PORT: String(port),
      MESH_TASK_HOST: this.#ctx.node.addr,
      MESH_TASK_NAME: name,
      MESH_TASK_ID: t.id,
      MESH_TASK_SLOT: String(t.slot),
      MESH_SERVICE_NAME: spec.name,
      MESH_NODE_NAME: this.#ctx.node.name,
      [OWNER_VAR]: this.#owner
    }
  }
}

export function startAgent (ctx: NodeContext): Agent {
  const agent = new Agent(ctx)
  agent.start()
  return agent
}
