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

/**
 * How a port is published: http (L7), https (L7 behind TLS termination), tcp
 * (L4), tls (L4 passthrough routed by the ClientHello's SNI), udp (datagrams).
 */
const PublishedPortSchema = object({ published: port, target: port, protocol: oneOf('http', 'tcp', 'https', 'tls', 'udp') })

/** How a service's endpoints are spoken to and what its routes add (issue 12). */
const RouteOptionsSchema = object({
  /** http1 (the default), or HTTP/2 to the endpoints: h2c in clear, h2 over TLS (gRPC end to end). */
  backend: oneOf('http1', 'h2c', 'h2'),
  /** The cluster certificate (by name) its HTTPS ports present when SNI names no other; null: by SNI only. */
  cert: nullable(str()),
  /** A PROXY protocol header (version 1 or 2) sent first on every L4 connection to its endpoints; 0: none. */
  proxyProtocol: int(0, 2),
  /** Plain-HTTP requests to it are answered 308 to https://. */
  redirectHttps: bool()
})

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
  /** Route options; absent in records written before they existed (the defaults then). */
  options: optional(RouteOptionsSchema),
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

/**
 * A task as every reader sees it (the view): its desired part (TaskSpec,
 * written by the scheduler and the CLI) and its actual part (TaskStatus,
 * written by the agent of the node it is placed on) merged into one record
 * (parts.ts). A static endpoint (static = true, node = '') has no actual part
 * of its own: its spec's address is where it runs.
 */
const taskSpecFields = {
  v: version,
  id: str(),
  serviceId: str(),
  service: str(),
  slot: int(0),
  /** Node id the task is placed on; '' for a static endpoint. */
  node: str(),
  static: bool(),
  /** A static endpoint's address; '' / 0 for a task (its agent reports where it listens). */
  host: str(),
  port: int(0, 65535),
  ports: optional(dict(port)),
  desired: oneOf('running', 'shutdown', 'remove'),
  specVersion: int(0),
  createdAt: ms,
  restarts: int(0)
}

const taskStatusFields = {
  v: version,
  state: oneOf('new', 'assigned', 'preparing', 'starting', 'running', 'complete', 'failed', 'shutdown', 'rejected', 'orphaned'),
  error: str(),
  /** When `state` was last changed. */
  stateAt: ms,
  host: str(),
  /** The task's first (or only) port, 0 until it has one. */
  port: int(0, 65535),
  /** Target port -> port on `host`, when a task listens on several. */
  ports: optional(dict(port)),
  pid: int(0),
  exitCode: nullable(int())
}

/** Stored in `mesh:tasks`: what the scheduler (or the CLI, for static endpoints) wants. */
export const TaskSpecSchema = object(taskSpecFields)
/** Stored in `mesh:taskstatus`: what the agent of the task's node reports. */
export const TaskStatusSchema = object(taskStatusFields)

/** The merged view of a task (TaskSpec + TaskStatus): what every consumer reads (host and port: the status's, or a static endpoint's spec's). */
export const TaskSchema = object({ ...taskSpecFields, ...taskStatusFields })

export const HealthSchema = object({
  v: version,
  status: oneOf('healthy', 'unhealthy'),
  at: ms,
  /** Node id of the prober that wrote it. */
  by: str(),
  detail: str()
})

const nodeSpecFields = {
  v: version,
  id: str(),
  name: str(),
  /** Advertise address: where its tasks listen and other nodes reach it (set when it joined). */
  addr: str(),
  role: oneOf('manager', 'worker'),
  availability: oneOf('active', 'pause', 'drain'),
  joinedAt: ms,
  /** The node's own Redis ACL user when it joined with a token; absent (or '') for a node that uses the cluster's admin credential. */
  user: optional(str())
}

/** Stored in `mesh:nodes`: the node as the managers declare it (role, availability) and who it is. */
export const NodeSpecSchema = object(nodeSpecFields)

/** Stored in `mesh:nodestatus`: what the node itself reports. */
const nodeStatusFields = {
  v: version,
  /** 'ready' while registered; 'down' once it deregistered. Whether it is alive is the heartbeat's (and the liveness record's) say. */
  status: oneOf('ready', 'down'),
  /** The node's admin address (HOST:PORT of /metrics), '' when off. */
  admin: str(),
  at: ms
}
export const NodeStatusSchema = object(nodeStatusFields)

/** Stored in `mesh:liveness`, written by the leading manager only: its verdict on the node's heartbeat. */
export const LivenessSchema = object({
  v: version,
  alive: bool(),
  /** When the verdict was reached (the leader's clock). */
  at: ms,
  /** The leader that reached it. */
  by: str()
})

/** Stored in `mesh:certs` by name: a cluster certificate (readable by node credentials only; the key is never printed). */
export const CertSchema = object({
  v: version,
  name: str(),
  /** PEM certificate chain, leaf first. */
  cert: str(),
  /** PEM private key. */
  key: str(),
  createdAt: ms,
  updatedAt: ms
})

/** Stored in `mesh:tls` as `tickets`: the session ticket keys every node shares, so a TLS session resumes on any node. */
export const TlsKeysSchema = object({
  v: version,
  /** 48 bytes, hex (Node's ticketKeys). */
  ticketKeys: str(),
  createdAt: ms
})

/** The merged view of a node (NodeSpec + NodeStatus without its `at`). */
export const NodeSchema = object({ ...nodeSpecFields, status: nodeStatusFields.status, admin: nodeStatusFields.admin })

export type PublishedPort = Infer<typeof PublishedPortSchema>
export type ServiceRouteOptions = Infer<typeof RouteOptionsSchema>
export type CertRecord = Infer<typeof CertSchema>
export type TlsKeysRecord = Infer<typeof TlsKeysSchema>
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

export type TaskSpec = Infer<typeof TaskSpecSchema>
export type TaskStatus = Infer<typeof TaskStatusSchema>
export type NodeSpec = Infer<typeof NodeSpecSchema>
export type NodeStatus = Infer<typeof NodeStatusSchema>
export type LivenessRecord = Infer<typeof LivenessSchema>

/** The record types every reader sees (the view: tasks and nodes merged from their parts). */
export type RecordType = 'service' | 'task' | 'health' | 'node'

export const SCHEMAS = { service: ServiceSchema, task: TaskSchema, health: HealthSchema, node: NodeSchema } as const

/** The record type stored under each RecordType. */
export interface RecordOf { service: ServiceSpec, task: TaskRecord, health: HealthRecord, node: NodeRecord }

/**
 * What is stored, one hash per part (keys.ts): desired state (service,
 * taskSpec, nodeSpec) apart from actual state (taskStatus, health,
 * nodeStatus) and the leader's liveness verdicts, so Redis ACL key patterns
 * can tell who may write what.
 */
export type PartType = 'service' | 'taskSpec' | 'taskStatus' | 'health' | 'nodeSpec' | 'nodeStatus' | 'liveness' | 'cert' | 'tls'

export const PART_SCHEMAS = {
  service: ServiceSchema,
  taskSpec: TaskSpecSchema,
  taskStatus: TaskStatusSchema,
  health: HealthSchema,
  nodeSpec: NodeSpecSchema,
  nodeStatus: NodeStatusSchema,
  liveness: LivenessSchema,
  cert: CertSchema,
  tls: TlsKeysSchema
} as const

export interface PartOf { service: ServiceSpec, taskSpec: TaskSpec, taskStatus: TaskStatus, health: HealthRecord, nodeSpec: NodeSpec, nodeStatus: NodeStatus, liveness: LivenessRecord, cert: CertRecord, tls: TlsKeysRecord }

/** Ports answered by the HTTP front end (L7): http, and https behind TLS termination. */
export function isHttp (p: Protocol): boolean { return p === 'http' || p === 'https' }
/** Ports bridged as byte streams (L4): tcp, and tls passed through by SNI. */
export function isStream (p: Protocol): boolean { return p === 'tcp' || p === 'tls' }
