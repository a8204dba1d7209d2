/**
 * Registry key schema v1. Everything below the configurable prefix (default
 * `mesh:`); the README lists each key with its Redis type.
 */
import type { RecordType } from './types'

export const TYPE_CHAR: Record<RecordType, string> = { service: 's', task: 't', health: 'h', node: 'n' }
export const CHAR_TYPE: Record<string, RecordType> = { s: 'service', t: 'task', h: 'health', n: 'node' }

export class Keys {
  readonly prefix: string
  /** STRING: random cluster id, set once by cluster creation; gone means Redis was flushed or restarted empty. */
  readonly epoch: string
  /** STRING (integer): bumped by every write. */
  readonly rev: string
  /** STREAM: one entry per write: `rev <n>` then `<t>:<id> <json|''>` per changed record. */
  readonly changes: string
  /** HASH name -> ServiceSpec JSON */
  readonly services: string
  /** HASH task id -> TaskRecord JSON */
  readonly tasks: string
  /** HASH task id -> HealthRecord JSON */
  readonly health: string
  /** HASH node id -> NodeRecord JSON */
  readonly nodes: string
  /** STRING with PX TTL per node: `<prefix>hb:<node id>` = served revision */
  readonly heartbeatPrefix: string
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

  constructor (prefix: string) {
    this.prefix = prefix
    this.epoch = `${prefix}epoch`
    this.rev = `${prefix}rev`
    this.changes = `${prefix}changes`
    this.services = `${prefix}services`
    this.tasks = `${prefix}tasks`
    this.health = `${prefix}health`
    this.nodes = `${prefix}nodes`
    this.heartbeatPrefix = `${prefix}hb:`
    this.lease = `${prefix}scheduler:lease`
    this.fence = `${prefix}scheduler:fence`
    this.logPrefix = `${prefix}logs:`
    this.restore = `${prefix}restore`
    this.restorePending = `${prefix}restore:pending`
  }

  hashOf (type: RecordType): string {
    switch (type) {
      case 'service': return this.services
      case 'task': return this.tasks
      case 'health': return this.health
      case 'node': return this.nodes
    }
  }

  heartbeat (nodeId: string): string { return this.heartbeatPrefix + nodeId }
  logs (serviceName: string): string { return this.logPrefix + serviceName }
}
