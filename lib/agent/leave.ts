/**
 * The first step of a node daemon's shutdown, before anything stops: its
 * tasks leave every node's routing table while they still run, so no node
 * sends them a request they would not finish.
 *
 * One report marks this node down (the scheduler places nothing new here and
 * replaces its tasks elsewhere) and each of its active tasks shutdown (every
 * table drops a task that is not running). The nodes acknowledge the
 * revision they serve in their heartbeat keys; the leave is done when every
 * live node serves that report's revision, or at a deadline.
 */
import { taskStatusOf } from '../registry/parts'
import type { ReportOp, ReportSink } from '../registry/report-sink'
import type { RegistryStore } from '../registry/store'
import { SCHEMA_VERSION, type TaskRecord } from '../registry/types'
import { isActiveState } from '../scheduler/task-rules'

const POLL_MS = 100
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reports the leave: node `nodeId` down, `tasks` (this node's processes, as
 * it last reported them) shutdown where they are still active. Resolves with
 * the revision it landed at (null: not known within `ackWithin` ms, when it
 * goes through the leader) and the tasks as reported.
 */
export async function writeLeave (sink: ReportSink, nodeId: string, admin: string, tasks: TaskRecord[], ackWithin: number): Promise<{ rev: number | null, reported: TaskRecord[] }> {
  const now = Date.now()
  const ops: ReportOp[] = [{ type: 'nodeStatus', id: nodeId, value: { v: SCHEMA_VERSION, status: 'down', admin, at: now } }]
  const reported: TaskRecord[] = []
  for (const task of tasks) {
    if (task.node !== nodeId || !isActiveState(task.state)) continue
    const next: TaskRecord = { ...task, state: 'shutdown', error: '', stateAt: now }
    ops.push({ type: 'taskStatus', id: task.id, value: taskStatusOf(next) })
    reported.push(next)
  }
  return { rev: await sink.report(ops, ackWithin), reported }
}

/**
 * Waits until each of `nodeIds` serves revision `rev` or later (or has no
 * heartbeat any more: it serves nobody), at most `ms`. Returns the nodes
 * that had not caught up at the deadline.
 */
export async function awaitServed (store: RegistryStore, nodeIds: string[], rev: number, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms
  let behind = nodeIds
  for (;;) {
    const served = await store.servedRevisions(behind)
    behind = behind.filter((id) => (served.get(id) ?? Infinity) < rev)
    if (behind.length === 0 || Date.now() >= deadline) return behind
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())))
  }
}
