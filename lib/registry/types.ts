/**
 * Registry records (schema v1). Each is stored as JSON in a Redis hash field,
 * keyed by id (see keys.ts and README "Registry schema").
 */
export const SCHEMA_VERSION = 1

export type Protocol = 'http' | 'tcp'

export interface PublishedPort {
  published: number
  target: number
  protocol: Protocol
}

export interface HealthCheckSpec {
  type: 'http' | 'tcp'
  /** HTTP path probed with GET; 2xx/3xx passes. Empty for tcp. */
  path: string
  interval: number
  timeout: number
  rise: number
  fall: number
}

export type UpdateOrder = 'stop-first' | 'start-first'
export type FailureAction = 'pause' | 'continue' | 'rollback'
export type RestartCondition = 'any' | 'on-failure' | 'none'

export interface UpdateConfig {
  parallelism: number
  delay: number
  order: UpdateOrder
  failureAction: FailureAction
  monitor: number
}

export interface ServiceSpec {
  v: number
  id: string
  name: string
  mode: 'replicated' | 'global'
  replicas: number
  ports: PublishedPort[]
  /** Host names (exact or `*.suffix`) this service answers on a shared L7 port; empty = the port is its own. */
  hosts: string[]
  health: HealthCheckSpec | null
  command: string[]
  env: Record<string, string>
  update: UpdateConfig
  rollback: UpdateConfig
  restart: { condition: RestartCondition, delay: number, maxAttempts: number }
  stopGrace: number
  /** Bumped on every change of what the tasks run (command, env, ports); tasks record the version they run. */
  version: number
  /** Update state, written by the scheduler: `updating`, `paused`, `rollback_*`, `completed`. */
  updateState: string
  updateMessage: string
  createdAt: number
  updatedAt: number
  /** The spec before the last update, for `service rollback` (without its own `previous`). */
  previous: Omit<ServiceSpec, 'previous'> | null
}

export type DesiredState = 'running' | 'shutdown' | 'remove'
export type TaskState = 'new' | 'assigned' | 'preparing' | 'starting' | 'running' | 'complete' | 'failed' | 'shutdown' | 'rejected' | 'orphaned'

/** A task, or a static endpoint (static = true, node = ''). */
export interface TaskRecord {
  v: number
  id: string
  serviceId: string
  service: string
  slot: number
  /** Node id the task runs on; '' for a static endpoint. */
  node: string
  static: boolean
  host: string
  /** The task's first (or only) port; static endpoints: the endpoint port, used for every published port. */
  port: number
  /** Target port -> port on `host`, when a task listens on several (optional). */
  ports?: Record<string, number>
  desired: DesiredState
  state: TaskState
  error: string
  specVersion: number
  createdAt: number
  /** When `state` was last changed. */
  stateAt: number
  pid: number
  exitCode: number | null
  restarts: number
}

export type HealthStatus = 'healthy' | 'unhealthy'

export interface HealthRecord {
  v: number
  status: HealthStatus
  at: number
  /** Node id of the prober that wrote it. */
  by: string
  detail: string
}

export type Availability = 'active' | 'pause' | 'drain'

export interface NodeRecord {
  v: number
  id: string
  name: string
  addr: string
  role: 'manager' | 'worker'
  availability: Availability
  joinedAt: number
  /** 'ready' while registered; 'down' once it deregistered. Liveness itself is the heartbeat key. */
  status: 'ready' | 'down'
  /** Registry revision this node serves (written with its heartbeat). */
  admin: string
}

export type RecordType = 'service' | 'task' | 'health' | 'node'
