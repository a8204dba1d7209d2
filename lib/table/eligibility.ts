/**
 * Which registry tasks may take traffic: desired and actual state running,
 * on a live node (static endpoints have none), healthy when the service has a
 * check. One place, used by the table builder and the active prober.
 */
import type { ClusterState } from '../registry/feed'
import type { ServiceSpec, TaskRecord } from '../registry/types'

/** Running and placed on a live node; health not considered. */
export function isRunning (task: TaskRecord, state: ClusterState): boolean {
  return task.desired === 'running' && task.state === 'running' && task.port > 0 && task.host !== '' &&
    (task.static || state.alive.has(task.node))
}

/**
 * Healthy enough to take traffic. Without a check, always. With one, the
 * verdict decides; a task without a verdict yet (the check was just added,
 * or the prober has not run) stays in rotation if it was serving (`serving`:
 * task ids in the previous table), so adding a check to a live service drops
 * nothing, and only a new endpoint waits for its first passing check.
 */
export function isHealthy (task: TaskRecord, service: ServiceSpec, state: ClusterState, serving: ReadonlySet<string> = new Set()): boolean {
  if (service.health === null) return true
  const verdict = state.health.get(task.id)
  return verdict === undefined ? serving.has(task.id) : verdict.status === 'healthy'
}

/** Tasks of each service id (one pass over all tasks). */
export function tasksByService (state: ClusterState): Map<string, TaskRecord[]> {
  const out = new Map<string, TaskRecord[]>()
  for (const task of state.tasks.values()) {
    let list = out.get(task.serviceId)
    if (list === undefined) out.set(task.serviceId, list = [])
    list.push(task)
  }
  return out
}

/** The port a task serves `target` on. */
export function taskPort (task: TaskRecord, target: number): number {
  return task.static ? task.port : (task.ports?.[String(target)] ?? task.port)
}
