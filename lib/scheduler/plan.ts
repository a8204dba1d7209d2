/**
 * The reconcile pass, a pure function of the registry view and the clock:
 * compares desired state (service specs) with the tasks and decides the
 * task and spec records to write. Stateless by design: everything it needs
 * (back-off, update progress, monitor windows) is derived from the records,
 * so a new leader continues exactly where the old one stopped.
 *
 * 1. Tasks that must stop: on a node whose heartbeat expired (after any
 *    liveness grace) or that left
 *    (desired shutdown, state orphaned), on a drained node, that ended
 *    (failed/complete: the slot gets a replacement), above the replica
 *    count, or of a removed service (desired remove; deleted once stopped).
 * 2. Empty slots (replicated: 1..replicas; global: one per active node) get a
 *    new task by spread, after the restart back-off of the slot's last task.
 * 3. Rolling update of tasks whose specVersion is not the spec's (update.ts).
 * 4. History: `historyLimit` ended tasks kept per slot, older ones deleted.
 */
import type { ClusterState } from '../registry/feed'
import type { ServiceSpec, TaskRecord } from '../registry/types'
import { Pass } from './pass'
import { isActiveState, newTask, restartDecision, type BackOff } from './task-rules'
import { rollingUpdate, stopFirstBlocked, type Group } from './update'

export interface PlanOptions {
  historyLimit: number
  backOff: BackOff
}

/** `graceUntil`: until then no node is judged dead (see Pass). */
export function plan (state: ClusterState, now: number, options: PlanOptions, graceUntil = 0): Pass {
  const pass = new Pass(state, now, graceUntil)
  stopWhatMustStop(pass)
  pass.countLoad()
  const byService = new Map<string, TaskRecord[]>()
  for (const t of pass.tasks.values()) {
    if (t.static) continue
    let list = byService.get(t.serviceId)
    if (list === undefined) byService.set(t.serviceId, list = [])
    list.push(t)
  }
  const specs = [...state.services.values()].sort((a, b) => a.name < b.name ? -1 : 1)
  for (const spec of specs) {
    const groups = groupTasks(spec, byService.get(spec.id) ?? [], pass)
    if (spec.command.length > 0) {
      fillSlots(pass, spec, groups)
      rollingUpdate(pass, spec, groups)
    }
    for (const g of groups.values()) pruneHistory(pass, g, options.historyLimit)
  }
  return pass

  function fillSlots (pass: Pass, spec: ServiceSpec, groups: Map<string, Group>): void {
    for (const g of groups.values()) {
      if (!g.needed || g.tasks.some((t) => t.desired === 'running')) continue
      if (stopFirstBlocked(pass, spec, g)) continue
      const last = g.tasks[g.tasks.length - 1]
      const decision = last === undefined ? { restart: true, at: 0, restarts: 0 } : restartDecision(last, spec, options.backOff)
      if (!decision.restart) continue
      if (decision.at > now) {
        pass.wake(decision.at)
        continue
      }
      const node = g.node ?? pass.pick(spec.id, last?.node ?? null)
      if (node === null) {
        pass.notes.push(`${spec.name}.${g.slot}: no eligible node (need a live node with availability active)`)
        continue
      }
      const task = newTask(spec, g.slot, node, decision.restarts, now)
      pass.placed(task)
      g.tasks.push(task)
    }
  }
}

function stopWhatMustStop (pass: Pass): void {
  for (const t of [...pass.tasks.values()]) {
    if (t.static) continue
    const spec = pass.spec(t.serviceId)
    const up = pass.nodeUp(t.node)
    const lost = !up && isActiveState(t.state)
    if (spec === undefined) {
      if (lost || !isActiveState(t.state)) pass.delete(t.id)
      else if (t.desired !== 'remove') pass.put({ ...t, desired: 'remove' })
      continue
    }
    if (lost) {
      pass.put({ ...t, desired: t.desired === 'running' ? 'shutdown' : t.desired, state: 'orphaned', stateAt: pass.now, error: `node ${pass.node(t.node)?.name ?? t.node} is down` })
      continue
    }
    if (t.desired !== 'running') continue
    const ended = !isActiveState(t.state)
    const drained = pass.node(t.node)?.availability === 'drain'
    const surplus = spec.mode === 'replicated' && t.slot > spec.replicas
    if (ended || drained || surplus || !up) pass.put({ ...t, desired: 'shutdown' })
  }
}

/** The tasks of a service by slot (replicated) or by node (global), oldest first. */
function groupTasks (spec: ServiceSpec, tasks: TaskRecord[], pass: Pass): Map<string, Group> {
  const groups = new Map<string, Group>()
  const global = spec.mode === 'global'
  for (const t of tasks.sort((a, b) => a.createdAt - b.createdAt)) {
    const key = global ? t.node : String(t.slot)
    let g = groups.get(key)
    if (g === undefined) groups.set(key, g = { key, slot: t.slot, node: global ? t.node : null, needed: false, tasks: [] })
    g.tasks.push(t)
  }
  if (global) {
    const used = new Set([...groups.values()].map((g) => g.slot))
    let next = 1
    for (const n of pass.eligibleNodes()) {
      let g = groups.get(n.id)
      if (g === undefined) {
        while (used.has(next)) next++
        used.add(next)
        groups.set(n.id, g = { key: n.id, slot: next, node: n.id, needed: false, tasks: [] })
      }
      g.needed = true
    }
  } else {
    for (let slot = 1; slot <= spec.replicas; slot++) {
      let g = groups.get(String(slot))
      if (g === undefined) groups.set(String(slot), g = { key: String(slot), slot, node: null, needed: false, tasks: [] })
      g.needed = true
    }
  }
  return groups
}

/** Keeps the newest `limit` ended tasks of a group; deletes older ones. */
function pruneHistory (pass: Pass, g: Group, limit: number): void {
  const ended = g.tasks.filter((t) => t.desired !== 'running' && !pass.stillActive(t) && pass.tasks.has(t.id))
  for (let i = 0; i < ended.length - limit; i++) pass.delete(ended[i].id)
}
