/**
 * Rolling updates, derived from the records on every pass (no in-memory
 * progress, so a failover resumes them):
 *
 * - A slot is outdated when its running task's specVersion is not the spec's.
 * - Up to `parallelism` slots are in flight at once (0 = all). A slot is in
 *   flight from the moment it is touched until its new task is ready
 *   (running, and healthy when the service has a check), and then "cools"
 *   for `delay` before its worker takes the next slot (Swarm's updater).
 * - stop-first: the old task is set to shutdown; the new one is placed once
 *   the agent reported the old one stopped (or its node is gone).
 *   start-first: the new task is placed beside the old one; the old one is
 *   set to shutdown once the new one is ready.
 * - A task of the new version that fails after the update began triggers
 *   `failureAction`: pause (updateState paused), rollback (the spec returns
 *   to `previous`, rolled out with the rollback config) or continue.
 * - Done when no slot is outdated or in flight and every new task has been
 *   ready for the `monitor` window: updateState completed (or
 *   rollback_completed).
 */
import type { ServiceSpec, TaskRecord, UpdateConfig } from '../registry/types'
import type { Pass } from './pass'
import { isFailedState, isReady, newTask, readyAt, taskName } from './task-rules'

export interface Group {
  key: string
  slot: number
  /** Global mode: the node this group's tasks run on. */
  node: string | null
  /** The slot/node should have a running task. */
  needed: boolean
  /** Oldest first. */
  tasks: TaskRecord[]
}

const ROLLING_BACK = (s: string): boolean => s.startsWith('rollback')

export function updateConfigOf (spec: ServiceSpec): UpdateConfig {
  return ROLLING_BACK(spec.updateState) ? spec.rollback : spec.update
}

/** stop-first: an outdated task of this slot is still stopping, so the new one must wait. */
export function stopFirstBlocked (pass: Pass, spec: ServiceSpec, g: Group): boolean {
  if (updateConfigOf(spec).order !== 'stop-first') return false
  return g.tasks.some((t) => t.desired !== 'running' && t.specVersion !== spec.version && pass.stillActive(t))
}

export function rollingUpdate (pass: Pass, spec: ServiceSpec, groups: Map<string, Group>): void {
  const cfg = updateConfigOf(spec)
  const state = spec.updateState
  const updating = state === 'updating' || state === 'rollback_started'
  const paused = state === 'paused' || state === 'rollback_paused'
  const health = pass.state.health
  const outdated: Group[] = []
  let busy = 0
  let monitorUntil = 0
  let allReady = true

  for (const g of groups.values()) {
    const live = g.tasks.filter((t) => t.desired === 'running')
    const fresh = live.filter((t) => t.specVersion === spec.version)
    const old = live.filter((t) => t.specVersion !== spec.version)
    const current = fresh[fresh.length - 1]
    if (current === undefined) {
      if (old.length > 0) {
        if (g.needed) outdated.push(g)
      } else if (g.needed && updating && (stopFirstBlocked(pass, spec, g) || lastFailedRecently(g, spec))) {
        busy++
        allReady = false
      }
      continue
    }
    if (!isReady(current, spec, health)) {
      busy++
      allReady = false
      continue
    }
    for (const t of old) pass.put({ ...t, desired: 'shutdown' })
    const at = readyAt(current, spec, health)
    monitorUntil = Math.max(monitorUntil, at + cfg.monitor)
    if (updating && at + cfg.delay > pass.now && g.tasks.some((t) => t.specVersion !== spec.version)) {
      busy++ // cooling: this worker waits `delay` before the next slot
      pass.wake(at + cfg.delay)
    }
  }

  if (updating && cfg.failureAction !== 'continue') {
    const failed = newestFailure(groups, spec)
    if (failed !== null) {
      onFailure(pass, spec, cfg, failed)
      return
    }
  }

  if (outdated.length > 0 && !paused) {
    let next = spec
    if (!updating) {
      next = { ...spec, updateState: 'updating', updateMessage: 'update in progress' }
      pass.putSpec(next)
    }
    let free = (cfg.parallelism === 0 ? Infinity : cfg.parallelism) - busy
    outdated.sort((a, b) => a.slot - b.slot)
    for (const g of outdated) {
      if (free <= 0) break
      const old = g.tasks.filter((t) => t.desired === 'running')
      if (cfg.order === 'start-first') {
        const node = g.node ?? pass.pick(spec.id, old[old.length - 1]?.node ?? null, old.length > 0)
        if (node === null) continue
        const task = newTask(next, g.slot, node, 0, pass.now)
        pass.placed(task)
        g.tasks.push(task)
      } else {
        for (const t of old) pass.put({ ...t, desired: 'shutdown' })
      }
      free--
    }
    return
  }

  if (updating && outdated.length === 0 && busy === 0 && allReady) {
    if (pass.now >= monitorUntil) {
      const rollback = ROLLING_BACK(state)
      pass.putSpec({ ...spec, updateState: rollback ? 'rollback_completed' : 'completed', updateMessage: rollback ? 'rollback completed' : 'update completed' })
    } else {
      pass.wake(monitorUntil)
    }
  }
}

/** The slot's newest task is a failure of the current version: a restart is pending. */
function lastFailedRecently (g: Group, spec: ServiceSpec): boolean {
  const last = g.tasks[g.tasks.length - 1]
  return last !== undefined && last.specVersion === spec.version && isFailedState(last.state)
}

/** The newest task of the current version that failed since the update began. */
function newestFailure (groups: Map<string, Group>, spec: ServiceSpec): TaskRecord | null {
  let found: TaskRecord | null = null
  for (const g of groups.values()) {
    for (const t of g.tasks) {
      if (t.specVersion !== spec.version || !isFailedState(t.state) || t.createdAt < spec.updatedAt) continue
      if (found === null || t.stateAt > found.stateAt) found = t
    }
  }
  return found
}

function onFailure (pass: Pass, spec: ServiceSpec, cfg: UpdateConfig, failed: TaskRecord): void {
  const what = `task ${taskName(failed)} (${failed.id.slice(0, 12)}) failed: ${failed.error === '' ? failed.state : failed.error}`
  const rollingBack = ROLLING_BACK(spec.updateState)
  if (cfg.failureAction === 'rollback' && !rollingBack && spec.previous !== null) {
    const { previous, ...current } = spec
    pass.putSpec({
      ...previous,
      id: spec.id,
      name: spec.name,
      createdAt: spec.createdAt,
      // Versions only grow (as `service rollback` does), so no two specs share one.
      version: spec.version + 1,
      updatedAt: pass.now,
      updateState: 'rollback_started',
      updateMessage: `rollback: update failed: ${what}`,
      previous: current
    })
    pass.notes.push(`${spec.name}: update failed (${what}); rolling back to the previous spec`)
    return
  }
  const reason = cfg.failureAction === 'rollback' && spec.previous === null ? ' (no previous spec to roll back to)' : ''
  pass.putSpec({
    ...spec,
    updateState: rollingBack ? 'rollback_paused' : 'paused',
    updateMessage: `update paused due to failure or early termination of ${what}${reason}`
  })
  pass.notes.push(`${spec.name}: update paused: ${what}${reason}`)
}
