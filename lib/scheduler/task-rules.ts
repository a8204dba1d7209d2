/**
 * What a task's recorded state means to the scheduler: is its process
 * possibly alive, did it end, should its slot be restarted and when.
 */
import { type HealthRecord, type NodeRecord, type ServiceSpec, type TaskRecord, type TaskState } from '../registry/types'
import { newId } from '../util/ids'
import { taskRecord } from '../registry/records'

/** States in which the task's process may exist or is about to. */
const ACTIVE: ReadonlySet<TaskState> = new Set(['new', 'assigned', 'preparing', 'starting', 'running'])
/** States reported by an agent for a process that ended. */
const FAILED: ReadonlySet<TaskState> = new Set(['failed', 'rejected'])

export function isActiveState (state: TaskState): boolean { return ACTIVE.has(state) }

export function isFailedState (state: TaskState): boolean { return FAILED.has(state) }

/** A node the scheduler may count on: heartbeat alive and registered (not deregistered). */
export function nodeUp (node: NodeRecord | undefined, alive: ReadonlySet<string>): node is NodeRecord {
  return node !== undefined && node.status !== 'down' && alive.has(node.id)
}

/** A node new tasks may go to. */
export function nodeEligible (node: NodeRecord | undefined, alive: ReadonlySet<string>): node is NodeRecord {
  return nodeUp(node, alive) && node.availability === 'active'
}

/** Ready to take traffic: running, and healthy when the service has a check. */
export function isReady (task: TaskRecord, spec: ServiceSpec, health: ReadonlyMap<string, HealthRecord>): boolean {
  if (task.state !== 'running') return false
  return spec.health === null || health.get(task.id)?.status === 'healthy'
}

/** When the task became ready (the later of running and its first healthy verdict). */
export function readyAt (task: TaskRecord, spec: ServiceSpec, health: ReadonlyMap<string, HealthRecord>): number {
  const h = spec.health === null ? undefined : health.get(task.id)
  return Math.max(task.stateAt, h?.at ?? 0)
}

export interface RestartDecision {
  /** false: the slot stays empty (restart condition or max attempts say so). */
  restart: boolean
  /** Earliest time the replacement may be placed. */
  at: number
  /** `restarts` of the replacement. */
  restarts: number
}

export interface BackOff { base: number, max: number }

/**
 * Restart policy, decided by the scheduler (Swarm's design): the agent only
 * reports how a task ended; the scheduler places a replacement in the same
 * slot (a new task, so `service ps` keeps the history) after a back-off of
 * base * 2^restarts capped at max. A task that ran longer than the cap before
 * it ended resets the count. `last` is the newest task of the slot.
 */
export function restartDecision (last: TaskRecord, spec: ServiceSpec, backOff: BackOff): RestartDecision {
  if (last.state === 'shutdown' || last.state === 'orphaned' || isActiveState(last.state)) {
    // Stopped by us or lost with its node: not the task's fault, no back-off.
    return { restart: true, at: 0, restarts: last.restarts }
  }
  // An outdated task's end says nothing about the current spec.
  if (last.specVersion !== spec.version) return { restart: true, at: 0, restarts: 0 }
  const failed = isFailedState(last.state)
  const cond = spec.restart.condition
  if (cond === 'none' || (cond === 'on-failure' && !failed)) return { restart: false, at: 0, restarts: last.restarts }
  const ranFor = last.stateAt - last.createdAt
  const count = ranFor > backOff.max ? 0 : last.restarts
  if (spec.restart.maxAttempts > 0 && count >= spec.restart.maxAttempts) return { restart: false, at: 0, restarts: count }
  const base = spec.restart.delay > 0 ? spec.restart.delay : backOff.base
  const delay = Math.min(base * 2 ** Math.min(count, 20), Math.max(backOff.max, base))
  return { restart: true, at: last.stateAt + delay, restarts: count + 1 }
}

export function newTask (spec: ServiceSpec, slot: number, node: string, restarts: number, now: number): TaskRecord {
  return taskRecord(spec, { id: newId(), slot, node, static: false, host: '', port: 0, state: 'assigned', restarts }, now)
}

/** `nginx1.3`, as Swarm names tasks. */
export function taskName (task: TaskRecord): string {
  return `${task.service}.${task.slot}`
}
