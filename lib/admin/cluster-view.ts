/**
 * What the dashboard shows of the cluster, built from this node's view of
 * the registry: nodes, services (with rolling-update progress per slot) and
 * tasks. Plain JSON for the page.
 *
 * Never in it: the Redis URL, the admin token, a service's environment or
 * command (either may hold a secret), or anything else a registry record
 * carries beyond the fields listed here. The page is read-only.
 */
import type { ClusterState } from '../registry/feed'
import type { HealthRecord, NodeRecord, ServiceSpec, TaskRecord } from '../registry/types'
import { isActiveState } from '../scheduler/task-rules'

export interface NodeRow {
  id: string
  name: string
  addr: string
  role: 'manager' | 'worker'
  availability: string
  /** ready: heartbeat alive and registered; down otherwise. */
  status: 'ready' | 'down'
  /** Leader, Reachable, Unreachable, or '' for a worker (as `mesh node ls`). */
  managerStatus: string
  self: boolean
}

export interface SlotRow {
  /** The slot number, or the node name of a global service's task. */
  slot: string
  /** updated: a task of the service's version runs; updating: one is on its way; old: only an older version runs (or none). */
  state: 'updated' | 'updating' | 'old'
}

export interface ServiceRow {
  id: string
  name: string
  mode: string
  desired: number
  running: number
  /** `*:8080->80/http`, `*:5432->5432/tcp` */
  ports: string[]
  hosts: string[]
  /** The certificate its https ports present by default (--cert), '' when none: a name, never the certificate. */
  cert: string
  /** `http /healthz`, `tcp`, or '' without an active check. */
  check: string
  version: number
  updateState: string
  updateMessage: string
  slots: SlotRow[]
}

export type TaskHealth = 'healthy' | 'unhealthy' | 'starting' | 'checking' | 'unreachable' | ''

export interface TaskRow {
  id: string
  /** `web.2` (replicated) or `web.<node name>` (global), as `mesh service ps`. */
  name: string
  service: string
  slot: number
  node: string
  desired: string
  state: string
  stateAt: number
  health: TaskHealth
  error: string
  /** host:port the task serves on, '' before it has one. */
  address: string
  static: boolean
  /** Runs the service's current version. */
  current: boolean
}

export interface ClusterView {
  rev: number
  nodes: NodeRow[]
  services: ServiceRow[]
  tasks: TaskRow[]
}

const UPDATING = new Set(['updating', 'paused', 'rollback_started', 'rollback_paused'])

export function clusterView (state: ClusterState, selfId: string, leaderId: string | null): ClusterView {
  const nodes = [...state.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => nodeRow(n, state.alive.has(n.id), leaderId, selfId))
  const byService = new Map<string, TaskRecord[]>()
  for (const t of state.tasks.values()) {
    let list = byService.get(t.serviceId)
    if (list === undefined) byService.set(t.serviceId, list = [])
    list.push(t)
  }
  const services: ServiceRow[] = []
  const tasks: TaskRow[] = []
  const nodeName = (id: string): string => state.nodes.get(id)?.name ?? id.slice(0, 12)
  let eligible = 0
  for (const n of nodes) if (n.status === 'ready' && n.availability === 'active') eligible++
  for (const svc of [...state.services.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const list = (byService.get(svc.id) ?? []).sort((a, b) => a.slot - b.slot || b.createdAt - a.createdAt)
    services.push(serviceRow(svc, list, eligible, nodeName))
    for (const t of list) tasks.push(taskRow(svc, t, state, nodeName))
  }
  return { rev: state.rev, nodes, services, tasks }
}

function nodeRow (n: NodeRecord, alive: boolean, leaderId: string | null, selfId: string): NodeRow {
  const ready = alive && n.status !== 'down'
  const managerStatus = n.role !== 'manager' ? '' : ready && n.id === leaderId ? 'Leader' : ready ? 'Reachable' : 'Unreachable'
  return { id: n.id, name: n.name, addr: n.addr, role: n.role, availability: n.availability, status: ready ? 'ready' : 'down', managerStatus, self: n.id === selfId }
}

function serviceRow (svc: ServiceSpec, tasks: TaskRecord[], eligibleNodes: number, nodeName: (id: string) => string): ServiceRow {
  let running = 0
  for (const t of tasks) if (t.desired === 'running' && t.state === 'running') running++
  const check = svc.health === null ? '' : svc.health.type === 'http' ? `http ${svc.health.path}` : 'tcp'
  return {
    id: svc.id,
    name: svc.name,
    mode: svc.mode,
    desired: svc.mode === 'global' ? eligibleNodes : svc.replicas,
    running,
    ports: svc.ports.map((p) => `*:${p.published}->${p.target}/${p.protocol}`),
    hosts: svc.hosts,
    cert: svc.options?.cert ?? '',
    check,
    version: svc.version,
    updateState: svc.updateState,
    updateMessage: svc.updateMessage,
    slots: slotRows(svc, tasks, nodeName)
  }
}

/** Per slot (per node for a global service): is the service's current version running there yet. */
function slotRows (svc: ServiceSpec, tasks: TaskRecord[], nodeName: (id: string) => string): SlotRow[] {
  const groups = new Map<string, TaskRecord[]>()
  for (const t of tasks) {
    if (t.static) continue
    const key = svc.mode === 'global' ? nodeName(t.node) : String(t.slot)
    let g = groups.get(key)
    if (g === undefined) groups.set(key, g = [])
    g.push(t)
  }
  const rows: SlotRow[] = []
  for (const [slot, g] of groups) {
    const live = g.filter((t) => t.desired === 'running')
    if (live.length === 0 && !UPDATING.has(svc.updateState)) continue
    const fresh = live.filter((t) => t.specVersion === svc.version)
    const state = fresh.some((t) => t.state === 'running') ? 'updated' : fresh.some((t) => isActiveState(t.state)) ? 'updating' : 'old'
    rows.push({ slot, state })
  }
  return rows.sort((a, b) => Number(a.slot) - Number(b.slot) || a.slot.localeCompare(b.slot))
}

function taskRow (svc: ServiceSpec, t: TaskRecord, state: ClusterState, nodeName: (id: string) => string): TaskRow {
  return {
    id: t.id,
    name: svc.mode === 'global' && !t.static && t.node !== '' ? `${t.service}.${nodeName(t.node)}` : `${t.service}.${t.slot}`,
    service: svc.name,
    slot: t.slot,
    node: t.static ? '-' : nodeName(t.node),
    desired: t.desired,
    state: t.state,
    stateAt: t.stateAt,
    health: taskHealth(svc, t, state.alive, state.health.get(t.id)),
    error: t.error,
    address: t.host !== '' && t.port > 0 ? `${t.host}:${t.port}` : '',
    static: t.static,
    current: t.specVersion === svc.version
  }
}

/**
 * One word for "may this task take traffic": a task that ended badly is
 * unhealthy whatever it is meant to do next; one that is stopping or gone
 * has none; a running one is healthy unless its node is gone or its active
 * check failed (the page adds "ejected" from this node's passive health).
 */
export function taskHealth (svc: ServiceSpec, t: TaskRecord, alive: ReadonlySet<string>, verdict: HealthRecord | undefined): TaskHealth {
  if (t.state === 'failed' || t.state === 'rejected' || t.state === 'orphaned') return 'unhealthy'
  if (t.desired !== 'running') return ''
  if (t.state !== 'running') return 'starting'
  if (!t.static && !alive.has(t.node)) return 'unreachable'
  if (svc.health === null) return 'healthy'
  if (verdict === undefined) return 'checking'
  return verdict.status === 'healthy' ? 'healthy' : 'unhealthy'
}
