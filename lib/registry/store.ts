/**
 * RegistryStore: typed reads and writes of the registry over one Redis
 * connection. Every write goes through the WRITE script (records + revision +
 * change-feed entry, atomically), which refuses a registry without a cluster
 * epoch: only createCluster founds one, and only RESTORE refills one.
 */
import type Redis from 'ioredis'
import { MeshError } from '../errors'
import { confirmReplicated } from './client'
import { newId } from '../util/ids'
import { Keys, TYPE_CHAR } from './keys'
import { decodeRecord, type AnyRecord } from './codec'
import { CREATE_CLUSTER, HEARTBEAT, LIVENESS, RESTORE, SNAPSHOT, WRITE } from './scripts'
import type { HealthRecord, NodeRecord, RecordOf, RecordType, ServiceSpec, TaskRecord } from './types'

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
  /** Refuse (MESH_ERR_REGISTRY_EPOCH) unless the registry has this epoch; default `expectedEpoch()`. */
  epoch?: string
}

export interface Skipped { key: string, reason: string }

/** An open restore window: nodes are still writing back their state. */
export interface Restoring {
  /** Revision of the state restored so far (the freshest offered yet). */
  from: number
  /** Node that restored it. */
  node: string
  /** ms until the window closes (by Redis's clock). */
  remainingMs: number
}

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
  /** The scheduler fencing counter (highest token handed out). */
  fence: number
  restoring: Restoring | null
  skipped: Skipped[]
}

export interface Liveness { epoch: string, rev: number, alive: Set<string>, fence: number, restoring: Restoring | null }

/** A node's last-known-good state, offered to a registry that lost it (see RESTORE in scripts.ts). */
export interface RestoreOffer {
  /** '' = this node holds no state: it is only counted as heard in an open window. */
  epoch: string
  rev: number
  /** Highest fencing token the node saw. */
  fence: number
  nodeId: string
  windowMs: number
  heartbeatTtl: number
  /** Nodes the offer saw alive: their heartbeats are restored, and the window waits to hear from them. */
  alive: Iterable<string>
  records: WriteOp[]
}

export type RestoreOutcome =
  | { kind: 'restored' | 'replaced', rev: number }
  | { kind: 'current' }
  | { kind: 'fresher-in-place', from: number }
  | { kind: 'other-epoch', epoch: string }

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>

type RawRestore = [string, string, string]

function restoring (raw: RawRestore): Restoring | null {
  const remainingMs = Number(raw[2])
  return raw[0] === '' || !(remainingMs > 0) ? null : { from: Number(raw[0]), node: raw[1], remainingMs }
}

export class RegistryStore {
  readonly redis: Redis
  readonly keys: Keys
  readonly streamMaxLen: number
  readonly #write: ScriptFn
  readonly #snapshot: ScriptFn
  readonly #liveness: ScriptFn
  readonly #restore: ScriptFn
  readonly #heartbeat: ScriptFn
  readonly #create: ScriptFn
  /**
   * The cluster epoch this store's writes belong to ('' = whichever the
   * registry has). A node daemon points it at its feed, so its writes never
   * land in a registry of another epoch before the feed re-read it.
   */
  expectedEpoch: () => string = () => ''

  constructor (redis: Redis, prefix: string, streamMaxLen = 10_000) {
    this.redis = redis
    this.keys = new Keys(prefix)
    this.streamMaxLen = streamMaxLen
    redis.defineCommand('meshWrite', { numberOfKeys: 5, lua: WRITE })
    redis.defineCommand('meshSnapshot', { numberOfKeys: 9, lua: SNAPSHOT })
    redis.defineCommand('meshLiveness', { numberOfKeys: 5, lua: LIVENESS })
    redis.defineCommand('meshRestore', { numberOfKeys: 7, lua: RESTORE })
    redis.defineCommand('meshHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT })
    redis.defineCommand('meshCreateCluster', { numberOfKeys: 2, lua: CREATE_CLUSTER })
    const r = redis as unknown as Record<string, ScriptFn>
    this.#write = r.meshWrite.bind(redis)
    this.#snapshot = r.meshSnapshot.bind(redis)
    this.#liveness = r.meshLiveness.bind(redis)
    this.#restore = r.meshRestore.bind(redis)
    this.#heartbeat = r.meshHeartbeat.bind(redis)
    this.#create = r.meshCreateCluster.bind(redis)
  }

  /**
   * Cluster creation (`mesh init`, `mesh up`): the only way an epoch comes
   * to exist. Joins the existing epoch
   * when there is one (created: false).
   */
  async createCluster (): Promise<{ created: boolean, epoch: string }> {
    const [created, epoch] = await this.#create(this.keys.epoch, this.keys.rev, newId()) as [number, string]
    return { created: created === 1, epoch }
  }

  /** Applies ops atomically, then waits for redis.waitReplicas replicas to have them (confirmReplicated); returns the new revision. */
  async write (ops: WriteOp[], options: WriteOptions = {}): Promise<number> {
    if (ops.length === 0) throw new Error('write needs at least one op')
    const k = this.keys
    const expected = options.epoch ?? this.expectedEpoch()
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.fence, k.restore,
      k.prefix, this.streamMaxLen, options.ifRev === undefined ? '' : String(options.ifRev),
      options.fence === undefined ? '' : String(options.fence), expected]
    for (const op of ops) args.push(TYPE_CHAR[op.type], op.id, op.value === null ? '' : JSON.stringify(op.value))
    const [rev, extra] = await this.#write(...args) as [number, string | number]
    if (rev === -1) {
      throw new MeshError('MESH_ERR_REGISTRY_CONFLICT', `registry moved on (now at revision ${extra}, expected ${String(options.ifRev)})`)
    }
    if (rev === -2) {
      throw new MeshError('MESH_ERR_REGISTRY_FENCED', `write refused: fencing token ${String(options.fence)} is stale (current ${extra})`)
    }
    if (rev === -3 && extra === '') {
      throw new MeshError('MESH_ERR_REGISTRY_EPOCH', 'write refused: the registry is being restored (it has no cluster epoch: Redis was flushed or restarted empty, and the nodes write their state back first); ' +
        'if no cluster was ever created in this Redis, `mesh init` (or `mesh up`) creates one')
    }
    if (rev === -3) {
      throw new MeshError('MESH_ERR_REGISTRY_EPOCH', `write refused: the registry belongs to cluster epoch "${extra}", this writer follows "${expected}" (Redis was replaced; it is re-read first)`)
    }
    if (rev === -4) {
      throw new MeshError('MESH_ERR_REGISTRY_EPOCH', `write refused: the registry is being restored (nodes are writing back their last-known-good state; the restore window closes within ${extra} ms)`)
    }
    await confirmReplicated(this.redis, rev)
    return rev
  }

  async snapshot (): Promise<Snapshot> {
    const k = this.keys
    const raw = await this.#snapshot(k.epoch, k.rev, k.changes, k.services, k.tasks, k.health, k.nodes, k.fence, k.restore, k.heartbeatPrefix) as
      [string, string, string, string[], string[], string[], string[], string[], string, RawRestore]
    const skipped: Skipped[] = []
    return {
      epoch: raw[0],
      rev: Number(raw[1]),
      lastStreamId: raw[2],
      services: this.#decodeAll('service', raw[3], skipped),
      tasks: this.#decodeAll('task', raw[4], skipped),
      health: this.#decodeAll('health', raw[5], skipped),
      nodes: this.#decodeAll('node', raw[6], skipped),
      alive: new Set(raw[7]),
      fence: Number(raw[8]),
      restoring: restoring(raw[9]),
      skipped
    }
  }

  #decodeAll<K extends RecordType> (type: K, flat: string[], skipped: Skipped[]): Map<string, RecordOf[K]> {
    const out = new Map<string, RecordOf[K]>()
    const hash = this.keys.hashOf(type)
    for (let i = 0; i < flat.length; i += 2) {
      const decoded = decodeRecord(type, flat[i + 1])
      if (decoded.ok) out.set(flat[i], decoded.value)
      else skipped.push({ key: `${hash} ${flat[i]}`, reason: decoded.reason })
    }
    return out
  }

  /** One record and the registry revision and epoch it was read at (for compare-and-set); value null when absent or malformed. */
  async readRecord<K extends RecordType> (type: K, id: string): Promise<{ rev: number, epoch: string, value: RecordOf[K] | null }> {
    const k = this.keys
    const res = await this.redis.multi().get(k.rev).get(k.epoch).hget(k.hashOf(type), id).exec()
    if (res === null) throw new Error('registry read aborted')
    for (const [err] of res) if (err !== null) throw err
    const json = res[2][1] as string | null
    const decoded = json === null ? null : decodeRecord(type, json)
    return { rev: Number(res[0][1] ?? 0), epoch: (res[1][1] as string | null) ?? '', value: decoded?.ok === true ? decoded.value : null }
  }

  async liveness (): Promise<Liveness> {
    const k = this.keys
    const [epoch, rev, alive, fence, info] = await this.#liveness(k.epoch, k.rev, k.nodes, k.fence, k.restore, k.heartbeatPrefix) as
      [string, string, string[], string, RawRestore]
    return { epoch, rev: Number(rev), alive: new Set(alive), fence: Number(fence), restoring: restoring(info) }
  }

  /** Offers a node's last-known-good state to a registry that lost it (RESTORE in scripts.ts). */
  async restore (offer: RestoreOffer): Promise<RestoreOutcome> {
    const k = this.keys
    const alive = [...offer.alive]
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.fence, k.lease, k.restore, k.restorePending,
      k.prefix, this.streamMaxLen, offer.epoch, offer.rev, offer.fence, offer.nodeId, offer.windowMs, offer.heartbeatTtl, alive.length, ...alive]
    if (offer.epoch !== '') for (const op of offer.records) if (op.value !== null) args.push(TYPE_CHAR[op.type], op.id, JSON.stringify(op.value))
    const [code, detail] = await this.#restore(...args) as [number, string | number]
    switch (code) {
      case 1: return { kind: 'restored', rev: Number(detail) }
      case 2: return { kind: 'replaced', rev: Number(detail) }
      case -1: return { kind: 'fresher-in-place', from: Number(detail) }
      case -2: return { kind: 'other-epoch', epoch: String(detail) }
      default: return { kind: 'current' }
    }
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
