/**
 * Who probes an endpoint: exactly one node cluster-wide. A task's own node
 * probes it; a static endpoint is probed by a deterministic owner among the
 * live nodes that may write the registry (managers and nodes on the admin
 * credential: a joined worker's verdict on a static endpoint would be
 * refused when the leader folds its reports in) (rendezvous hashing: every node computes the same answer from
 * the same live set, and only 1/N of endpoints move when a node comes or goes).
 */
import { createHash } from 'node:crypto'
import type { TaskRecord } from '../registry/types'

function score (nodeId: string, endpointId: string): bigint {
  return createHash('sha1').update(nodeId).update('\0').update(endpointId).digest().readBigUInt64BE(0)
}

export function staticOwner (endpointId: string, aliveNodes: Iterable<string>): string | null {
  let best: string | null = null
  let bestScore = -1n
  for (const node of aliveNodes) {
    const s = score(node, endpointId)
    if (s > bestScore || (s === bestScore && best !== null && node < best)) {
      best = node
      bestScore = s
    }
  }
  return best
}

export function ownerOf (task: TaskRecord, aliveNodes: Iterable<string>): string | null {
  return task.static ? staticOwner(task.id, aliveNodes) : task.node
}
