/**
 * Registry key schema v1. Everything below the configurable prefix (default
 * `mesh:`); the README lists each key with its Redis type.
 *
 * Desired state (services, task specs, node specs: managers write them),
 * actual state (task status, health, node status: each node's own, folded in
 * by the leader or written by a node allowed to) and the leader's liveness
 * verdicts live in different hashes, and everything a worker may write is a
 * key of its own (its heartbeat, its report stream): Redis ACL key patterns
 * (acl.ts) grant exactly that.
 */
import type { PartType, RecordType } from './types'

/** One character per stored part in change-feed entries (`<char>:<id> <json>`). */
export const PART_CHAR: Record<PartType, string> = {
  service: 's', taskSpec: 't', taskStatus: 'a', health: 'h', nodeSpec: 'n', nodeStatus: 'm', liveness: 'l', cert: 'c', tls: 'k'
}
export const CHAR_PART: Record<string, PartType> = Object.fromEntries(Object.entries(PART_CHAR).map(([k, v]) => [v, k as PartType]))
/** Hash name (below the prefix) of each part; the scripts use the same table (scripts.ts PART_HASHES). */
export const PART_HASH: Record<PartType, string> = {
  service: 'services', taskSpec: 'tasks', taskStatus: 'taskstatus', health: 'health', nodeSpec: 'nodes', nodeStatus: 'nodestatus', liveness: 'liveness', cert: 'certs', tls: 'tls'
}
/** The stored part a record type is keyed under (a task's and a node's desired part). */
export const TYPE_CHAR: Record<RecordType, string> = { service: 's', task: 't', health: 'h', node: 'n' }
/** In a change entry, `r:<node id> <report stream id>`: the leader folded that node's reports up to that id. */
export const ACK_CHAR = 'r'

export class Keys {
  readonly prefix: string
  /** STRING: random cluster id, set once by cluster creation; gone means Redis was flushed or restarted empty. */
  readonly epoch: string
  /** STRING (integer): bumped by every write. */
  readonly rev: string
  /** STREAM: one entry per write: `rev <n>` then `<char>:<id> <json|''>` per changed part. */
  readonly changes: string
  /** HASH name -> ServiceSpec JSON */
  readonly services: string
  /** HASH task id -> TaskSpec JSON (desired) */
  readonly tasks: string
  /** HASH task id -> TaskStatus JSON (actual) */
  readonly taskStatus: string
  /** HASH task id -> HealthRecord JSON */
  readonly health: string
  /** HASH node id -> NodeSpec JSON (desired) */
  readonly nodes: string
  /** HASH node id -> NodeStatus JSON (actual) */
  readonly nodeStatus: string
  /** HASH node id -> LivenessRecord JSON (the leader's verdicts) */
  readonly liveness: string
  /** HASH certificate name -> CertRecord JSON (node credentials and managers read it; joiners do not) */
  readonly certs: string
  /** HASH `tickets` -> TlsKeysRecord JSON: the cluster's TLS session ticket keys */
  readonly tls: string
  /** STRING with PX TTL per node: `<prefix>hb:<node id>` = served revision */
  readonly heartbeatPrefix: string
  /** STREAM per joined worker: `<prefix>reports:<node id>`, its actual-state reports for the leader to fold in */
  readonly reportPrefix: string
  /** HASH node id -> last report stream id folded in */
  readonly folded: string
  /** STRING with PX TTL: scheduler lease holder `<node id>:<token>` */
  readonly lease: string
  /** STRING (integer): fencing token, bumped on each lease win */
  readonly fence: string
  /** STREAM per service: task output lines */
  readonly logPrefix: string
  /** HASH: the last restore: `from` (revision restored), `node`, `at` and `until` (Redis clock, ms: the window's end) */
  readonly restore: string
  /** SET: node ids not yet heard from in the open restore window */
  readonly restorePending: string
  /** STREAM per role: join requests (`<prefix>join:worker`, `<prefix>join:manager`), appended by the joiner users */
  readonly joinPrefix: string
  /** STRING with TTL per request: the leader's answer (`<prefix>join:reply:<request id>`) */
  readonly joinReplyPrefix: string
  /** HASH role -> join token secret (managers only) */
  readonly joinSecrets: string

  constructor (prefix: string) {
    this.prefix = prefix
    this.epoch = `${prefix}epoch`
    this.rev = `${prefix}rev`
    this.changes = `${prefix}changes`
    this.services = `${prefix}${PART_HASH.service}`
    this.tasks = `${prefix}${PART_HASH.taskSpec}`
    this.taskStatus = `${prefix}${PART_HASH.taskStatus}`
    this.health = `${prefix}${PART_HASH.health}`
    this.nodes = `${prefix}${PART_HASH.nodeSpec}`
    this.nodeStatus = `${prefix}${PART_HASH.nodeStatus}`
    this.liveness = `${prefix}${PART_HASH.liveness}`
    this.certs = `${prefix}${PART_HASH.cert}`
    this.tls = `${prefix}${PART_HASH.tls}`
    this.heartbeatPrefix = `${prefix}hb:`
    this.reportPrefix = `${prefix}reports:`
    this.folded = `${prefix}reports-folded`
    this.lease = `${prefix}scheduler:lease`
    this.fence = `${prefix}scheduler:fence`
    this.logPrefix = `${prefix}logs:`
    this.restore = `${prefix}restore`
    this.restorePending = `${prefix}restore:pending`
    this.joinPrefix = `${prefix}join:`
    this.joinReplyPrefix = `${prefix}join-reply:`
    this.joinSecrets = `${prefix}secret:join`
  }

  /** The hash of a record type as readers name it (a task's or node's desired part). */
  hashOf (type: 'service' | 'task' | 'health' | 'node'): string {
    switch (type) {
      case 'service': return this.services
      case 'task': return this.tasks
      case 'health': return this.health
      case 'node': return this.nodes
    }
  }

  partHash (part: PartType): string { return this.prefix + PART_HASH[part] }

  heartbeat (nodeId: string): string { return this.heartbeatPrefix + nodeId }
  reports (nodeId: string): string { return this.reportPrefix + nodeId }
  logs (serviceName: string): string { return this.logPrefix + serviceName }
  joinRequests (role: 'worker' | 'manager'): string { return this.joinPrefix + role }
  joinReply (requestId: string): string { return this.joinReplyPrefix + requestId }
}
