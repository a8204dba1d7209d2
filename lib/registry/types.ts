/**
 * Registry records (schema v1): one schema per record type, and the
 * TypeScript types derived from it, so what the codec checks and what the
 * code reads are the same declaration. Each record is stored as JSON in a
 * Redis hash field, keyed by id (see keys.ts and README "Registry schema").
 * Every field listed here is checked when a record is read; a record that
 * fails is skipped (codec.ts), so consumers trust every field.
 */
import { array, bool, dict, int, literal, nullable, object, oneOf, optional, str, type Infer } from './schema'

export const SCHEMA_VERSION = 1

const version = literal(SCHEMA_VERSION)
const port = int(1, 65535)
/** Milliseconds: a duration, or a Date.now() time. */
const ms = int(0)

const PublishedPortSchema = object({ published: port, target: port, protocol: oneOf('http', 'tcp') })

const HealthCheckSchema = object({
  type: oneOf('http', 'tcp'),
  /** HTTP path probed with GET; 2xx/3xx passes. Empty for tcp. */
  path: str(),
  interval: int(1),
  timeout: int(1),
  rise: int(1),
  fall: int(1)
})

const UpdateConfigSchema = object({
  parallelism: int(0),
  delay: ms,
  order: oneOf('stop-first', 'start-first'),
  failureAction: oneOf('pause', 'continue', 'rollback'),
  monitor: ms
})

const serviceFields = {
  v: version,
  id: str(),
  name: str(),
  mode: oneOf('replicated', 'global'),
  replicas: int(0),
  ports: array(PublishedPortSchema),
  /** Host names (exact or `*.suffix`) this service answers on a shared L7 port; empty = the port is its own. */
  hosts: array(str()),
  health: nullable(HealthCheckSchema),
  command: array(str()),
  env: dict(str()),
  update: UpdateConfigSchema,
  rollback: UpdateConfigSchema,
  restart: object({ condition: oneOf('any', 'on-failure', 'none'), delay: ms, maxAttempts: int(0) }),
  stopGrace: ms,
  /** Bumped on every change of what the tasks run (command, env, ports); tasks record the version they run. */
  version: int(0),
  /** Update state, written by the scheduler: `updating`, `paused`, `rollback_*`, `completed`. */
  updateState: str(),
  updateMessage: str(),
  createdAt: ms,
  updatedAt: ms
}

/** The spec before the last update, for `service rollback` (without its own `previous`). */
const PreviousSpecSchema = object(serviceFields)

export const ServiceSchema = object({ ...serviceFields, previous: nullable(PreviousSpecSchema) })

/** A task, or a static endpoint (static = true, node = ''). */
export const TaskSchema = object({
  v: version,
  id: str(),
  serviceId: str(),
  service: str(),
  slot: int(0),
  /** Node id the task runs on; '' for a static endpoint. */
  node: str(),
  static: bool(),
  host: str(),
  /** The task's first (or only) port, 0 until it has one; static endpoints: the endpoint port, used for every published port. */
  port: int(0, 65535),
  /** Target port -> port on `host`, when a task listens on several. */
  ports: optional(dict(port)),
  desired: oneOf('running', 'shutdown', 'remove'),
  state: oneOf('new', 'assigned', 'preparing', 'starting', 'running', 'complete', 'failed', 'shutdown', 'rejected', 'orphaned'),
  error: str(),
  specVersion: int(0),
  createdAt: ms,
  /** When `state` was last changed. */
  stateAt: ms,
  pid: int(0),
  exitCode: nullable(int()),
  restarts: int(0)
})

export const HealthSchema = object({
  v: version,
  status: oneOf('healthy', 'unhealthy'),
  at: ms,
  /** Node id of the prober that wrote it. */
  by: str(),
  detail: str()
})

export const NodeSchema = object({
  v: version,
  id: str(),
  name: str(),
  addr: str(),
  role: oneOf('manager', 'worker'),
  availability: oneOf('active', 'pause', 'drain'),
  joinedAt: ms,
  /** 'ready' while registered; 'down' once it deregistered. Liveness itself is the heartbeat key. */
  status: oneOf('ready', 'down'),
  /** The node's admin address (HOST:PORT of /metrics), '' when off. */
  admin: str()
})

export type PublishedPort = Infer<typeof PublishedPortSchema>
export type Protocol = PublishedPort['protocol']
export type HealthCheckSpec = Infer<typeof HealthCheckSchema>
export type UpdateConfig = Infer<typeof UpdateConfigSchema>
export type UpdateOrder = UpdateConfig['order']
export type FailureAction = UpdateConfig['failureAction']
export type ServiceSpec = Infer<typeof ServiceSchema>
export type RestartCondition = ServiceSpec['restart']['condition']
export type TaskRecord = Infer<typeof TaskSchema>
export type DesiredState = TaskRecord['desired']
export type TaskState = TaskRecord['state']
export type HealthRecord = Infer<typeof HealthSchema>
export type HealthStatus = HealthRecord['status']
export type NodeRecord = Infer<typeof NodeSchema>
export type Availability = NodeRecord['availability']

export type RecordType = 'service' | 'task' | 'health' | 'node'

export const SCHEMAS = { service: ServiceSchema, task: TaskSchema, health: HealthSchema, node: NodeSchema } as const

/** The record type stored under each RecordType. */
export interface RecordOf { service: ServiceSpec, task: TaskRecord, health: HealthRecord, node: NodeRecord }
