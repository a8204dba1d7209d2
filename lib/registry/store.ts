/**
 * RegistryStore: typed reads and writes of the registry over one Redis
 * connection. Every write goes through the WRITE script (records + revision +
 * change-feed entry, atomically), which refuses a registry without a cluster
 * epoch: only createCluster founds one, and only RESTORE refills one. A
 * joined worker's reports reach the registry through FOLD, run by the leader.
 * A command the connection's Redis user may not run, or a key it may not
 * touch (ACL NOPERM), is MESH_ERR_REGISTRY_DENIED.
 */
import type Redis from 'ioredis'
import { MeshError } from '../errors'
import { confirmReplicated } from './client'
import { newId } from '../util/ids'
import { Keys, PART_CHAR, PART_HASH } from './keys'
import { decodePart, decodeRecord } from './codec'
import { buildView, emptyParts, mergeNode, mergeTask, partMap, type AnyPart, type Parts } from './parts'
import { CREATE_CLUSTER, FOLD, RESTORE, SNAPSHOT, WRITE } from './scripts'
import { readOnlyScript } from './script'
import { storedChanges, type StoredChange, type WriteOp } from './write-ops'
import type { HealthRecord, NodeRecord, PartType, RecordOf, RecordType, ServiceSpec, TaskRecord } from './types'

export type { WriteOp, WriteType } from './write-ops'

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
  /** Tasks as readers see them (spec and status merged). */
  tasks: Map<string, TaskRecord>
  health: Map<string, HealthRecord>
  /** Nodes as readers see them (spec and status merged). */
  nodes: Map<string, NodeRecord>
  /** Nodes alive: registered and not declared dead by the leader (parts.ts isAlive). */
  alive: Set<string>
  /** Every stored part as read (what a restore writes back). */
  parts: Parts
  /** The scheduler fencing counter (highest token handed out). */
  fence: number
  restoring: Restoring | null
  skipped: Skipped[]
}

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
  /** Nodes the offer saw alive: their heartbeats are restored. */
  alive: Iterable<string>
  /** Nodes the window waits to hear from (those that may restore: managers, admin-credential nodes). */
  pending: Iterable<string>
  parts: Parts
}

export type RestoreOutcome =
  | { kind: 'restored' | 'replaced', rev: number }
  | { kind: 'current' }
  | { kind: 'fresher-in-place', from: number }
  | { kind: 'other-epoch', epoch: string }

export interface FoldResult { rev: number, accepted: number, refused: number }

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>

type RawRestore = [string, string, string]

/** Part hashes in the order SNAPSHOT reads them. */
const PARTS = Object.keys(PART_HASH) as PartType[]

function restoring (raw: RawRestore): Restoring | null {
  const remainingMs = Number(raw[2])
  return raw[0] === '' || !(remainingMs > 0) ? null : { from: Number(raw[0]), node: raw[1], remainingMs }
}

/** A Redis ACL refusal as a coded error; anything else as it is. */
export function deniedOr (err: unknown, what: string): unknown {
  const msg = (err as Error)?.message ?? ''
  if (!/^NOPERM|The user executing the script can't/.test(msg)) return err
  return new MeshError('MESH_ERR_REGISTRY_DENIED', `${what} refused by the registry: this node's credential may not do it (${msg})`, { cause: err })
}

export class RegistryStore {
  readonly redis: Redis
  readonly keys: Keys
  readonly streamMaxLen: number
  readonly #write: ScriptFn
  readonly #snapshot: ScriptFn
  readonly #restore: ScriptFn
  readonly #create: ScriptFn
  readonly #fold: ScriptFn
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
    redis.defineCommand('meshRestore', { numberOfKeys: 7, lua: RESTORE })
    redis.defineCommand('meshCreateCluster', { numberOfKeys: 2, lua: CREATE_CLUSTER })
    redis.defineCommand('meshFold', { numberOfKeys: 7, lua: FOLD })
    const r = redis as unknown as Record<string, ScriptFn>
    this.#write = r.meshWrite.bind(redis)
    this.#snapshot = readOnlyScript(redis, SNAPSHOT, 5 + PARTS.length)
    this.#restore = r.meshRestore.bind(redis)
    this.#create = r.meshCreateCluster.bind(redis)
    this.#fold = r.meshFold.bind(redis)
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
    for (const c of storedChanges(ops)) args.push(...c)
    let reply: [number, string | number]
    try {
      reply = await this.#write(...args) as [number, string | number]
    } catch (err) {
      throw deniedOr(err, 'registry write')
    }
    const rev = this.#check(reply, options, expected)
    await confirmReplicated(this.redis, rev)
    return rev
  }

  #check ([rev, extra]: [number, string | number], options: WriteOptions, expected: string): number {
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
    return rev
  }

  /**
   * The leader folds node `nodeId`'s reports up to stream id `reportId` into
   * the registry (FOLD in scripts.ts checks each one). `changes` are the
   * reported parts as the node sent them.
   */
  async fold (nodeId: string, reportId: string, changes: StoredChange[], options: Pick<WriteOptions, 'fence' | 'epoch'> = {}): Promise<FoldResult> {
    const k = this.keys
    const expected = options.epoch ?? this.expectedEpoch()
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.fence, k.restore, k.tasks, k.folded,
      k.prefix, this.streamMaxLen, options.fence === undefined ? '' : String(options.fence), expected, nodeId, reportId]
    for (const c of changes) args.push(...c)
    let reply: [number, string | number, number?]
    try {
      reply = await this.#fold(...args) as [number, string | number, number?]
    } catch (err) {
      throw deniedOr(err, 'folding reports')
    }
    const rev = this.#check([reply[0], reply[1]], options, expected)
    await confirmReplicated(this.redis, rev)
    return { rev, accepted: Number(reply[1]), refused: Number(reply[2] ?? 0) }
  }

  async snapshot (): Promise<Snapshot> {
    const k = this.keys
    let raw: [string, string, string, string, RawRestore, ...string[][]]
    try {
      raw = await this.#snapshot(k.epoch, k.rev, k.changes, k.fence, k.restore, ...PARTS.map((p) => k.partHash(p))) as typeof raw
    } catch (err) {
      throw deniedOr(err, 'registry read')
    }
    const skipped: Skipped[] = []
    const parts = emptyParts()
    PARTS.forEach((part, i) => { this.#decodeAll(part, raw[5 + i] as string[], partMap(parts, part), skipped) })
    const view = buildView(parts)
    return {
      epoch: raw[0],
      rev: Number(raw[1]),
      lastStreamId: raw[2],
      fence: Number(raw[3]),
      restoring: restoring(raw[4]),
      services: parts.services,
      tasks: view.tasks,
      health: parts.health,
      nodes: view.nodes,
      alive: view.alive,
      parts,
      skipped
    }
  }

  #decodeAll (part: PartType, flat: string[], out: Map<string, AnyPart>, skipped: Skipped[]): void {
    const hash = this.keys.partHash(part)
    for (let i = 0; i < flat.length; i += 2) {
      const decoded = decodePart(part, flat[i + 1])
      if (decoded.ok) out.set(flat[i], decoded.value)
      else skipped.push({ key: `${hash} ${flat[i]}`, reason: decoded.reason })
    }
  }

  /**
   * One record as readers see it, and the registry revision and epoch it
   * was read at (for compare-and-set); value null when absent or malformed.
   */
  async readRecord<K extends RecordType> (type: K, id: string): Promise<{ rev: number, epoch: string, value: RecordOf[K] | null }> {
    const k = this.keys
    const m = this.redis.multi().get(k.rev).get(k.epoch)
    if (type === 'task') m.hget(k.tasks, id).hget(k.taskStatus, id)
    else if (type === 'node') m.hget(k.nodes, id).hget(k.nodeStatus, id)
    else m.hget(k.hashOf(type), id)
    const res = await m.exec().catch((err: unknown) => { throw deniedOr(err, 'registry read') })
    if (res === null) throw new Error('registry read aborted')
    for (const [err] of res) if (err !== null) throw deniedOr(err, 'registry read')
    const rev = Number(res[0][1] ?? 0)
    const epoch = (res[1][1] as string | null) ?? ''
    const text = (i: number): string | null => res[i][1] as string | null
    let value: unknown = null
    if (type === 'task') {
      const spec = text(2) === null ? null : decodePart('taskSpec', text(2) as string)
      const status = text(3) === null ? null : decodePart('taskStatus', text(3) as string)
      if (spec?.ok === true) value = mergeTask(spec.value, status?.ok === true ? status.value : undefined)
    } else if (type === 'node') {
      const spec = text(2) === null ? null : decodePart('nodeSpec', text(2) as string)
      const status = text(3) === null ? null : decodePart('nodeStatus', text(3) as string)
      if (spec?.ok === true) value = mergeNode(spec.value, status?.ok === true ? status.value : undefined)
    } else if (text(2) !== null) {
      const decoded = decodeRecord(type, text(2) as string)
      if (decoded.ok) value = decoded.value
    }
    return { rev, epoch, value: value as RecordOf[K] | null }
  }

  /** Offers a node's last-known-good state to a registry that lost it (RESTORE in scripts.ts). */
  async restore (offer: RestoreOffer): Promise<RestoreOutcome> {
    const k = this.keys
    const alive = [...offer.alive]
    const pending = [...offer.pending]
    const args: Array<string | number> = [k.epoch, k.rev, k.changes, k.fence, k.lease, k.restore, k.restorePending,
      k.prefix, this.streamMaxLen, offer.epoch, offer.rev, offer.fence, offer.nodeId, offer.windowMs, offer.heartbeatTtl,
      alive.length, ...alive, pending.length, ...pending]
    if (offer.epoch !== '') {
      for (const part of PARTS) for (const [id, value] of partMap(offer.parts, part)) args.push(PART_CHAR[part], id, JSON.stringify(value))
    }
    let reply: [number, string | number]
    try {
      reply = await this.#restore(...args) as [number, string | number]
    } catch (err) {
      throw deniedOr(err, 'registry restore')
    }
    const [code, detail] = reply
    switch (code) {
      case 1: return { kind: 'restored', rev: Number(detail) }
      case 2: return { kind: 'replaced', rev: Number(detail) }
      case -1: return { kind: 'fresher-in-place', from: Number(detail) }
      case -2: return { kind: 'other-epoch', epoch: String(detail) }
      default: return { kind: 'current' }
    }
  }

  /**
   * Refreshes a node's heartbeat (one SET with a TTL, the only liveness
   * traffic of an idle node) and, in the same round trip, reads the cluster
   * epoch, so a registry flushed under a node is noticed within a beat.
   * Returns the epoch ('' when there is none).
   */
  async heartbeat (nodeId: string, ttlMs: number, servedRev: number): Promise<string> {
    const res = await this.redis.pipeline().set(this.keys.heartbeat(nodeId), String(servedRev), 'PX', ttlMs).get(this.keys.epoch).exec()
    if (res === null) throw new Error('heartbeat aborted')
    for (const [err] of res) if (err !== null) throw deniedOr(err, 'heartbeat')
    return (res[1][1] as string | null) ?? ''
  }

  async clearHeartbeat (nodeId: string): Promise<void> {
    await this.redis.del(this.keys.heartbeat(nodeId))
  }

  /** The revision each node whose heartbeat key exists reports serving (one MGET, whatever the count). */
  async servedRevisions (nodeIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    if (nodeIds.length === 0) return out
    const values = await this.redis.mget(nodeIds.map((id) => this.keys.heartbeat(id)))
    nodeIds.forEach((id, i) => { if (values[i] != null) out.set(id, Number(values[i])) })
    return out
  }

  /** The nodes among `nodeIds` whose heartbeat key exists now. */
  async beating (nodeIds: string[]): Promise<Set<string>> {
    return new Set((await this.servedRevisions(nodeIds)).keys())
  }
}

