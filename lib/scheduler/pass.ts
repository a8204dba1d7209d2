/**
 * One reconcile pass: a working copy of the registry view plus the changes
 * decided so far. Nothing is written until the pass is done; then all its
 * changes go out in one fenced write, applied only if the registry is still
 * at the revision the pass read (so a pass never acts on a stale view). It
 * writes the desired part of tasks (TaskSpec), and their actual part only
 * where it decided one (orphaned: lost with its node).
 */
import type { ClusterState } from '../registry/feed'
import type { WriteOp } from '../registry/store'
import { taskSpecOf, taskStatusOf } from '../registry/parts'
import type { NodeRecord, ServiceSpec, TaskRecord } from '../registry/types'
import { isActiveState, nodeEligible, nodeUp } from './task-rules'

export class Pass {
  readonly state: ClusterState
  readonly now: number
  /** Working copy of every task, changes applied. */
  readonly tasks: Map<string, TaskRecord>
  readonly specsById: Map<string, ServiceSpec>
  /** Earliest time something deferred (a back-off, a delay, a monitor window) becomes due. */
  wakeAt = Infinity
  readonly notes: string[] = []
  readonly #changedTasks = new Map<string, TaskRecord | null>()
  readonly #changedSpecs = new Map<string, ServiceSpec>()
  readonly #load = new Map<string, number>()
  readonly #serviceLoad = new Map<string, Map<string, number>>()
  readonly #eligible: NodeRecord[]

  /** Date.now() until which no registered node is judged dead (a liveness grace after a restore); placements still need a live one. */
  readonly graceUntil: number

  constructor (state: ClusterState, now: number, graceUntil = 0) {
    this.state = state
    this.now = now
    this.graceUntil = graceUntil
    this.tasks = new Map(state.tasks)
    this.specsById = new Map()
    for (const spec of state.services.values()) this.specsById.set(spec.id, spec)
    this.#eligible = [...state.nodes.values()].filter((n) => nodeEligible(n, state.alive))
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  }

  node (id: string): NodeRecord | undefined { return this.state.nodes.get(id) }

  nodeUp (id: string): boolean {
    const node = this.state.nodes.get(id)
    if (this.now < this.graceUntil) return node !== undefined && node.status !== 'down'
    return nodeUp(node, this.state.alive)
  }

  eligibleNodes (): readonly NodeRecord[] { return this.#eligible }

  /** Its process may exist: an active state on a node that is up. */
  stillActive (t: TaskRecord): boolean { return isActiveState(t.state) && this.nodeUp(t.node) }

  wake (at: number): void { if (at > this.now && at < this.wakeAt) this.wakeAt = at }

  put (task: TaskRecord): void {
    this.tasks.set(task.id, task)
    this.#changedTasks.set(task.id, task)
  }

  delete (id: string): void {
    this.tasks.delete(id)
    this.#changedTasks.set(id, null)
  }

  putSpec (spec: ServiceSpec): void {
    this.#changedSpecs.set(spec.name, spec)
    this.specsById.set(spec.id, spec)
  }

  /** The spec as this pass left it. */
  spec (id: string): ServiceSpec | undefined { return this.specsById.get(id) }

  /** Counts the tasks meant to run on each node; call once the shutdowns of this pass are decided. */
  countLoad (): void {
    for (const t of this.tasks.values()) {
      if (t.static || t.desired !== 'running' || !isActiveState(t.state)) continue
      this.#add(t.serviceId, t.node)
    }
  }

  #add (serviceId: string, node: string): void {
    this.#load.set(node, (this.#load.get(node) ?? 0) + 1)
    let per = this.#serviceLoad.get(serviceId)
    if (per === undefined) this.#serviceLoad.set(serviceId, per = new Map())
    per.set(node, (per.get(node) ?? 0) + 1)
  }

  /**
   * Spread: the eligible node with the fewest tasks of this service, then
   * the fewest tasks overall, then by name (deterministic). Null if none.
   * `prefer` (the node the slot's previous task ran on) wins when it is
   * eligible and holds no more of this service's tasks than the best node,
   * not counting the task it replaces when that one still runs
   * (`replacing`, a start-first update): a slot keeps its node across
   * updates and restarts, as Swarm's do, without ever unbalancing the spread.
   */
  pick (serviceId: string, prefer: string | null = null, replacing = false): string | null {
    const per = this.#serviceLoad.get(serviceId)
    let best: NodeRecord | null = null
    let bestKey = [Infinity, Infinity]
    let preferred: number | null = null
    for (const n of this.#eligible) {
      const key = [per?.get(n.id) ?? 0, this.#load.get(n.id) ?? 0]
      if (n.id === prefer) preferred = key[0] - (replacing ? 1 : 0)
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = n
        bestKey = key
      }
    }
    if (preferred !== null && preferred <= bestKey[0]) return prefer
    return best?.id ?? null
  }

  /** Records a placement so the next pick in this pass sees it. */
  placed (task: TaskRecord): void {
    this.put(task)
    this.#add(task.serviceId, task.node)
  }

  get changed (): boolean { return this.#changedTasks.size > 0 || this.#changedSpecs.size > 0 }

  ops (): WriteOp[] {
    const ops: WriteOp[] = []
    for (const [name, spec] of this.#changedSpecs) ops.push({ type: 'service', id: name, value: spec })
    for (const [id, task] of this.#changedTasks) {
      if (task === null) {
        ops.push({ type: 'task', id, value: null })
        if (this.state.health.has(id)) ops.push({ type: 'health', id, value: null })
        continue
      }
      // The desired part is the scheduler's; the actual part only when the pass decided it (a task lost with its node).
      ops.push({ type: 'taskSpec', id, value: taskSpecOf(task) })
      const before = this.state.tasks.get(id)
      const status = taskStatusOf(task)
      if (before !== undefined && JSON.stringify(taskStatusOf(before)) !== JSON.stringify(status)) ops.push({ type: 'taskStatus', id, value: status })
    }
    return ops
  }
}
