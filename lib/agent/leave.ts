/**
 * The first step of a node daemon's shutdown, before anything stops: its
 * tasks leave every node's routing table while they still run, so no node
 * sends them a request they would not finish.
 *
 * One compare-and-set write marks this node down (the scheduler places
 * nothing new here and replaces its tasks elsewhere) and each of its active
 * tasks shutdown (every table drops a task that is not running). The nodes
 * acknowledge the revision they serve in their heartbeat keys; the leave is
 * done when every live node serves that write's revision, or at a deadline.
 */
import { MeshError } from '../errors'
import { compareAndSet } from '../registry/cas'
import { decodeRecord } from '../registry/codec'
import type { RegistryStore, WriteOp } from '../registry/store'
import type { NodeRecord, TaskRecord } from '../registry/types'
import { isActiveState } from '../scheduler/task-rules'

const POLL_MS = 100
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Writes the leave: node `nodeId` down, `taskIds` (this node's processes)
 * shutdown where they are still active. Returns the revision written (or
 * read, when there was nothing to write).
 */
export async function writeLeave (store: RegistryStore, nodeId: string, taskIds: string[]): Promise<number> {
  const k = store.keys
  const { rev } = await compareAndSet(store, async () => {
    const m = store.redis.multi().get(k.rev).hget(k.nodes, nodeId)
    if (taskIds.length > 0) m.hmget(k.tasks, ...taskIds)
    const res = await m.exec()
    if (res === null) throw new Error('registry read aborted')
    for (const [err] of res) if (err !== null) throw err
    const rev = Number(res[0][1] ?? 0)
    const ops: WriteOp[] = []
    const nodeJson = res[1][1] as string | null
    const node = nodeJson === null ? null : decodeRecord('node', nodeJson)
    if (node?.ok === true && (node.value as NodeRecord).status !== 'down') {
      ops.push({ type: 'node', id: nodeId, value: { ...(node.value as NodeRecord), status: 'down' } })
    }
    const tasks = taskIds.length > 0 ? res[2][1] as Array<string | null> : []
    tasks.forEach((json, i) => {
      const t = json === null ? null : decodeRecord('task', json)
      if (t?.ok !== true) return
      const task = t.value as TaskRecord
      if (task.node === nodeId && isActiveState(task.state)) {
        ops.push({ type: 'task', id: taskIds[i], value: { ...task, state: 'shutdown', error: '', stateAt: Date.now() } })
      }
    })
    return { rev, ops, result: null }
  }, {
    attempts: 20,
    backoff: (attempt) => Math.random() * Math.min(5 * attempt, 50),
    exhausted: (n) => new MeshError('MESH_ERR_REGISTRY_CONFLICT', `node ${nodeId} leave: the registry changed under ${n} write attempts in a row`)
  })
  return rev
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
