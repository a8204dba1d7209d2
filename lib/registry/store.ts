/**
 * RegistryStore: typed reads and writes of the registry over one Redis
 * connection. Every write goes through the WRITE script (records + revision +
 * change-feed entry, atomically).
 */
import type Redis from 'ioredis'
import { MeshError } from '../errors'
import { newId } from '../util/ids'
import { Keys, TYPE_CHAR } from './keys'
import { decodeRecord, type AnyRecord } from './codec'
import { HEARTBEAT, LIVENESS, RESTORE, SNAPSHOT, WRITE } from './scripts'
import type { HealthRecord, NodeRecord, RecordType, ServiceSpec, TaskRecord } from './types'

export interface WriteOp {
  type: RecordType
  id: string
  /** The record to store, or null to delete it. */
  value: AnyRecord | null
}

export interface WriteOptions {
  /** Refuse (MESH_ERR_REGISTRY_CONFLICT) unless the registry is still at this revision. */
  ifRev?: number
  /** Refuse (MESH_ERR_REGISTRY_FENCED) unless this is the current scheduler fencing token. */
  fence?: number
}

export interface Skipped { key: string, reason: string }

/** A consistent read of the whole registry at one revision. */
export interface Snapshot {
  epoch: string
  rev: number
  lastStreamId: string
  services: Map<string, ServiceSpec>
  tasks: Map<string, TaskRecord>
  health: Map<string, HealthRecord>
  nodes: Map<string, NodeRecord>
  alive: Set<string>
  skipped: Skipped[]
}

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>

export class RegistryStore {
  readonly redis: Redis
  readonly keys: Keys
  readonly streamMaxLen: number
  readonly #write: ScriptFn
  readonly #snapshot: ScriptFn
  readonly #liveness: ScriptFn
  readonly #restore: ScriptFn
  readonly #heartbeat: ScriptFn
  /**
   * The cluster epoch this store's writes belong to ('' = any, and create one
   * if the registry has none). A node daemon points it at its feed, so its
   * writes never land in a flushed registry before the feed restored it.
   */
  expectedEpoch: () => string = () => ''

  constructor (redis: Redis, prefix: string, streamMaxLen = 10_000) {
    this.redis = redis
    this.keys = new Keys(prefix)
    this.streamMaxLen = streamMaxLen
    redis.defineCommand('meshWrite', { numberOfKeys: 4, lua: WRITE })
    redis.defineCommand('meshSnapshot', { numberOfKeys: 7, lua: SNAPSHOT })
    redis.defineCommand('meshLiveness', { numberOfKeys: 3, lua: LIVENESS })
    redis.defineCommand('meshRestore', { numberOfKeys: 3, lua: RESTORE })
    redis.defineCommand('meshHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT })
    const r = redis as unknown as Record<string, ScriptFn>
    this.#write = r.meshWrite.bind(redis)
    this.#snapshot = r.meshSnapshot.bind(redis)
    this.#liveness = r.meshLiveness.bind(redis)
    this.#restore = r.meshRestore.bind(redis)
    this.#heartbeat = r.meshHeartbeat.bind(redis)
  }

  /** Applies ops atomically; returns the new revision. */
  async write (ops: WriteOp[], options: WriteOptions = {}): Promise<number> {
    if (ops.length === 0) throw new Error('write needs at least one op')
    const k = this.keys
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.fence,
      k.prefix, this.streamMaxLen, newId(), options.ifRev === undefined ? '' : String(options.ifRev),
      options.fence === undefined ? '' : String(options.fence), this.expectedEpoch()]
    for (const op of ops) args.push(TYPE_CHAR[op.type], op.id, op.value === null ? '' : JSON.stringify(op.value))
    const [rev, extra] = await this.#write(...args) as [number, string]
    if (rev === -1) {
      throw new MeshError('MESH_ERR_REGISTRY_CONFLICT', `registry moved on (now at revision ${extra}, expected ${String(options.ifRev)})`)
    }
    if (rev === -3) {
      throw new MeshError('MESH_ERR_REGISTRY_EPOCH', `write refused: the registry's epoch is "${extra}", this node follows "${this.expectedEpoch()}" (Redis was flushed or replaced; the node re-reads it first)`)
    }
    if (rev === -2) {
      throw new MeshError('MESH_ERR_REGISTRY_FENCED', `write refused: fencing token ${String(options.fence)} is stale (current ${extra})`)
    }
    return rev
  }

  async snapshot (): Promise<Snapshot> {
    const k = this.keys
    const raw = await this.#snapshot(k.epoch, k.rev, k.changes, k.services, k.tasks, k.health, k.nodes, k.heartbeatPrefix) as
      [string, string, string, string[], string[], string[], string[], string[]]
    const skipped: Skipped[] = []
    return {
      epoch: raw[0],
      rev: Number(raw[1]),
      lastStreamId: raw[2],
      services: this.#decodeAll<ServiceSpec>('service', raw[3], skipped),
      tasks: this.#decodeAll<TaskRecord>('task', raw[4], skipped),
      health: this.#decodeAll<HealthRecord>('health', raw[5], skipped),
      nodes: this.#decodeAll<NodeRecord>('node', raw[6], skipped),
      alive: new Set(raw[7]),
      skipped
    }
  }

  #decodeAll<T extends AnyRecord> (type: RecordType, flat: string[], skipped: Skipped[]): Map<string, T> {
    const out = new Map<string, T>()
    const hash = this.keys.hashOf(type)
    for (let i = 0; i < flat.length; i += 2) {
      const decoded = decodeRecord(type, flat[i + 1])
      if (decoded.ok) out.set(flat[i], decoded.value as T)
      else skipped.push({ key: `${hash} ${flat[i]}`, reason: decoded.reason })
    }
    return out
  }

  async liveness (): Promise<{ epoch: string, rev: number, alive: Set<string> }> {
    const k = this.keys
    const [epoch, rev, alive] = await this.#liveness(k.epoch, k.rev, k.nodes, k.heartbeatPrefix) as [string, string, string[]]
    return { epoch, rev: Number(rev), alive: new Set(alive) }
  }

  /** Restores records into an empty registry; false if it was not empty. */
  async restore (epoch: string, rev: number, ops: WriteOp[]): Promise<boolean> {
    const k = this.keys
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.prefix, epoch, rev]
    for (const op of ops) if (op.value !== null) args.push(TYPE_CHAR[op.type], op.id, JSON.stringify(op.value))
    return (await this.#restore(...args)) === 1
  }

  /** Refreshes a node's heartbeat; false when its record is gone and it must register again. */
  async heartbeat (nodeId: string, ttlMs: number, servedRev: number): Promise<boolean> {
    return (await this.#heartbeat(this.keys.heartbeat(nodeId), this.keys.nodes, nodeId, ttlMs, servedRev)) === 1
  }

  async clearHeartbeat (nodeId: string): Promise<void> {
    await this.redis.del(this.keys.heartbeat(nodeId))
  }

  /** The revision each live node reports serving (from its heartbeat key). */
  async servedRevisions (nodeIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    if (nodeIds.length === 0) return out
    const values = await this.redis.mget(nodeIds.map((id) => this.keys.heartbeat(id)))
    nodeIds.forEach((id, i) => { if (values[i] != null) out.set(id, Number(values[i])) })
    return out
  }
}
