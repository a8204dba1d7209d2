/** Finding services, their tasks and nodes in a snapshot, by name or id. */
import { MeshError } from '../errors'
import type { Snapshot } from '../registry/store'
import type { NodeRecord, ServiceSpec, TaskRecord } from '../registry/types'

/** By name, full id, or a unique id prefix (like docker). */
export function findService (snap: Pick<Snapshot, 'services'>, ref: string): ServiceSpec {
  const byName = snap.services.get(ref)
  if (byName !== undefined) return byName
  const matches = [...snap.services.values()].filter((s) => s.id === ref || (ref.length >= 3 && s.id.startsWith(ref)))
  if (matches.length === 1) return matches[0]
  throw new MeshError('MESH_ERR_SERVICE_NOT_FOUND', `no such service: ${ref}${matches.length > 1 ? ' (id prefix is ambiguous)' : ''}`)
}

export function findNode (snap: Pick<Snapshot, 'nodes'>, ref: string): NodeRecord {
  const all = [...snap.nodes.values()]
  const exact = all.find((n) => n.id === ref) ?? all.find((n) => n.name === ref)
  if (exact !== undefined) return exact
  const matches = all.filter((n) => ref.length >= 3 && n.id.startsWith(ref))
  if (matches.length === 1) return matches[0]
  throw new MeshError('MESH_ERR_NODE_NOT_FOUND', `no such node: ${ref}${matches.length > 1 ? ' (id prefix is ambiguous)' : ''}`)
}

export function tasksOf (snap: Pick<Snapshot, 'tasks'>, spec: ServiceSpec): TaskRecord[] {
  const out: TaskRecord[] = []
  for (const t of snap.tasks.values()) if (t.serviceId === spec.id) out.push(t)
  return out
}
