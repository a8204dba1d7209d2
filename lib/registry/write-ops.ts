/**
 * What a registry write carries, and how it is stored. A writer names either
 * a record as readers see it (`service`, `task`, `health`, `node`: a task or a
 * node is then written whole, both its parts) or one stored part
 * (`taskStatus`: an agent's report; `nodeStatus`: a node's own status;
 * `liveness`: the leader's verdict; `taskSpec`/`nodeSpec`: desired state
 * alone). Deleting a task deletes both its parts; deleting a node, all three.
 */
import type { AnyRecord } from './codec'
import { PART_CHAR } from './keys'
import { nodeSpecOf, nodeStatusOf, taskSpecOf, taskStatusOf, type AnyPart } from './parts'
import type { NodeRecord, PartType, RecordType, TaskRecord } from './types'

export type WriteType = RecordType | Exclude<PartType, 'service' | 'health'>

export interface WriteOp {
  type: WriteType
  id: string
  /** The record (or part) to store, or null to delete it. */
  value: AnyRecord | AnyPart | null
}

/** One stored change: part character, id, JSON ('' = delete). */
export type StoredChange = [string, string, string]

const json = (v: unknown): string => JSON.stringify(v)

export function storedChanges (ops: WriteOp[]): StoredChange[] {
  const out: StoredChange[] = []
  for (const op of ops) {
    const v = op.value
    switch (op.type) {
      case 'task':
        out.push([PART_CHAR.taskSpec, op.id, v === null ? '' : json(taskSpecOf(v as TaskRecord))])
        out.push([PART_CHAR.taskStatus, op.id, v === null ? '' : json(taskStatusOf(v as TaskRecord))])
        break
      case 'node':
        out.push([PART_CHAR.nodeSpec, op.id, v === null ? '' : json(nodeSpecOf(v as NodeRecord))])
        out.push([PART_CHAR.nodeStatus, op.id, v === null ? '' : json(nodeStatusOf(v as NodeRecord))])
        if (v === null) out.push([PART_CHAR.liveness, op.id, ''])
        break
      default:
        out.push([PART_CHAR[op.type], op.id, v === null ? '' : json(v)])
    }
  }
  return out
}
