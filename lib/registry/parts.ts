/**
 * Stored parts and the view readers see. A task is stored as its desired
 * part (TaskSpec, `mesh:tasks`) and its actual part (TaskStatus,
 * `mesh:taskstatus`); a node as its spec (`mesh:nodes`), its own status
 * (`mesh:nodestatus`) and the leader's liveness verdict (`mesh:liveness`).
 * Consumers read one merged TaskRecord / NodeRecord, built here, and the set
 * of nodes alive: registered (status ready) and not declared dead by the
 * leader. A writer of a whole merged record has it split here.
 */
import type {
  CertRecord, HealthRecord, LivenessRecord, NodeRecord, NodeSpec, NodeStatus, PartOf, PartType, ServiceSpec, TaskRecord, TaskSpec, TaskStatus, TlsKeysRecord
} from './types'

export type AnyPart = PartOf[PartType]

/** A task's view: its spec, and its status (or, before its agent said anything, what the spec implies). */
export function mergeTask (spec: TaskSpec, status: TaskStatus | undefined): TaskRecord {
  const s = status ?? impliedStatus(spec)
  const ports = s.ports ?? spec.ports
  return {
    v: spec.v,
    id: spec.id,
    serviceId: spec.serviceId,
    service: spec.service,
    slot: spec.slot,
    node: spec.node,
    static: spec.static,
    host: spec.static ? spec.host : s.host,
    port: spec.static ? spec.port : s.port,
    ...(ports !== undefined ? { ports } : {}),
    desired: spec.desired,
    state: s.state,
    error: s.error,
    specVersion: spec.specVersion,
    createdAt: spec.createdAt,
    stateAt: s.stateAt,
    pid: s.pid,
    exitCode: s.exitCode,
    restarts: spec.restarts
  }
}

/** A static endpoint runs where its spec says; a task nobody reported on yet is assigned. */
function impliedStatus (spec: TaskSpec): TaskStatus {
  return { v: spec.v, state: spec.static ? 'running' : 'assigned', error: '', stateAt: spec.createdAt, host: spec.host, port: spec.port, pid: 0, exitCode: null }
}

export function taskSpecOf (t: TaskRecord): TaskSpec {
  return {
    v: t.v,
    id: t.id,
    serviceId: t.serviceId,
    service: t.service,
    slot: t.slot,
    node: t.node,
    static: t.static,
    host: t.static ? t.host : '',
    port: t.static ? t.port : 0,
    ...(t.static && t.ports !== undefined ? { ports: t.ports } : {}),
    desired: t.desired,
    specVersion: t.specVersion,
    createdAt: t.createdAt,
    restarts: t.restarts
  }
}

export function taskStatusOf (t: TaskRecord): TaskStatus {
  return {
    v: t.v,
    state: t.state,
    error: t.error,
    stateAt: t.stateAt,
    host: t.host,
    port: t.port,
    ...(t.ports !== undefined ? { ports: t.ports } : {}),
    pid: t.pid,
    exitCode: t.exitCode
  }
}

/** A node's view; one that never reported its status counts as down. */
export function mergeNode (spec: NodeSpec, status: NodeStatus | undefined): NodeRecord {
  return {
    v: spec.v,
    id: spec.id,
    name: spec.name,
    addr: spec.addr,
    role: spec.role,
    availability: spec.availability,
    joinedAt: spec.joinedAt,
    status: status?.status ?? 'down',
    admin: status?.admin ?? '',
    ...(spec.user !== undefined && spec.user !== '' ? { user: spec.user } : {})
  }
}

export function nodeSpecOf (n: NodeRecord): NodeSpec {
  return {
    v: n.v,
    id: n.id,
    name: n.name,
    addr: n.addr,
    role: n.role,
    availability: n.availability,
    joinedAt: n.joinedAt,
    ...(n.user !== undefined && n.user !== '' ? { user: n.user } : {})
  }
}

export function nodeStatusOf (n: NodeRecord, at = Date.now()): NodeStatus {
  return { v: n.v, status: n.status, admin: n.admin, at }
}

/** Alive: registered (status ready) and not declared dead by the leader's liveness verdict. */
export function isAlive (node: NodeRecord | undefined, verdict: LivenessRecord | undefined): boolean {
  return node !== undefined && node.status === 'ready' && verdict?.alive !== false
}

/** A node whose credential may write desired state: a manager, or a node on the cluster's admin credential (no user of its own). */
export function canWriteRegistry (node: Pick<NodeRecord, 'role' | 'user'> | undefined): boolean {
  return node !== undefined && (node.role === 'manager' || node.user === undefined || node.user === '')
}

/** Every stored part, by id: what a full read returns and a restore writes back. */
export interface Parts {
  services: Map<string, ServiceSpec>
  taskSpecs: Map<string, TaskSpec>
  taskStatus: Map<string, TaskStatus>
  health: Map<string, HealthRecord>
  nodeSpecs: Map<string, NodeSpec>
  nodeStatus: Map<string, NodeStatus>
  liveness: Map<string, LivenessRecord>
  certs: Map<string, CertRecord>
  tls: Map<string, TlsKeysRecord>
}

export function emptyParts (): Parts {
  return {
    services: new Map(), taskSpecs: new Map(), taskStatus: new Map(), health: new Map(), nodeSpecs: new Map(), nodeStatus: new Map(), liveness: new Map(),
    certs: new Map(), tls: new Map()
  }
}

export function partMap (parts: Parts, part: PartType): Map<string, AnyPart> {
  switch (part) {
    case 'service': return parts.services
    case 'taskSpec': return parts.taskSpecs
    case 'taskStatus': return parts.taskStatus
    case 'health': return parts.health
    case 'nodeSpec': return parts.nodeSpecs
    case 'nodeStatus': return parts.nodeStatus
    case 'liveness': return parts.liveness
    case 'cert': return parts.certs
    case 'tls': return parts.tls
  }
}

/** The merged maps readers use (services and health are their parts). */
export interface View {
  tasks: Map<string, TaskRecord>
  nodes: Map<string, NodeRecord>
  /** Nodes alive (isAlive), before any liveness grace. */
  alive: Set<string>
}

export function buildView (p: Parts): View {
  const tasks = new Map<string, TaskRecord>()
  for (const [id, spec] of p.taskSpecs) tasks.set(id, mergeTask(spec, p.taskStatus.get(id)))
  const nodes = new Map<string, NodeRecord>()
  for (const [id, spec] of p.nodeSpecs) nodes.set(id, mergeNode(spec, p.nodeStatus.get(id)))
  return { tasks, nodes, alive: aliveOf(nodes, p.liveness) }
}

export function aliveOf (nodes: ReadonlyMap<string, NodeRecord>, liveness: ReadonlyMap<string, LivenessRecord>): Set<string> {
  const alive = new Set<string>()
  for (const [id, n] of nodes) if (isAlive(n, liveness.get(id))) alive.add(id)
  return alive
}

/**
 * Applies one stored part change to `parts` and the merged `view` in place.
 * Returns true when it can change which nodes are alive (the caller
 * recomputes `alive` once per batch).
 */
export function applyPart (parts: Parts, view: View, part: PartType, id: string, value: AnyPart | null): boolean {
  const map = partMap(parts, part)
  if (value === null) map.delete(id)
  else map.set(id, value)
  switch (part) {
    case 'taskSpec':
    case 'taskStatus': {
      const spec = parts.taskSpecs.get(id)
      if (spec === undefined) view.tasks.delete(id)
      else view.tasks.set(id, mergeTask(spec, parts.taskStatus.get(id)))
      return false
    }
    case 'nodeSpec':
    case 'nodeStatus': {
      const spec = parts.nodeSpecs.get(id)
      if (spec === undefined) view.nodes.delete(id)
      else view.nodes.set(id, mergeNode(spec, parts.nodeStatus.get(id)))
      return true
    }
    case 'liveness': return true
    default: return false
  }
}
