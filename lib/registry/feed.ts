/**
 * RegistryFeed: keeps a node's view of the registry current.
 *
 * - Full read on start, on every (re)connect, on a revision gap, on an epoch
 *   change or restore, and every `resyncInterval`.
 * - Between full reads it tails the change stream (XREAD BLOCK on its own
 *   connection) and applies entries whose revision follows its own.
 * - Node liveness comes with the records: a node is alive while it is
 *   registered and the leading manager has not declared it dead (the leader
 *   alone reads every heartbeat and writes its verdicts to the feed), so an
 *   idle node costs the registry the same whatever the cluster's size.
 * - A flushed registry is noticed by the node's own heartbeat, which reads
 *   the epoch in the same round trip (noticeEpoch).
 * - While Redis is away it keeps the last-known-good state and says so once.
 * - A registry that lost its state (no epoch: flushed, or restarted without
 *   persistence) is never adopted over a known cluster: the feed offers its
 *   last-known-good state first (restore.ts; freshest wins within the
 *   restore window), then reads what was restored. A node whose credential
 *   may not write desired state (a joined worker) offers nothing.
 * - After a restore, a new epoch or a reconnect, nodes alive just before are
 *   held alive for one heartbeat TTL (liveness-grace.ts).
 *
 * Emits 'change' (reason: string, writtenAt: number | null) after each applied
 * batch, and 'ack' (nodeId, reportId, rev) for each acknowledgement of folded reports.
 */
import { EventEmitter } from 'node:events'
import type Redis from 'ioredis'
import { ACK_CHAR, CHAR_PART } from './keys'
import { decodePart } from './codec'
import { LivenessGrace } from './liveness-grace'
import { aliveOf, applyPart, canWriteRegistry, emptyParts, type Parts } from './parts'
import { offerDue, offerState, restoreKey } from './restore'
import type { RegistryStore, Snapshot } from './store'
import { createLogger, type Logger } from '../util/log'
import { redactUrl } from './client'

export interface FeedOptions {
  resyncInterval: number
  blockTimeout: number
  reconnectMaxDelay: number
  url: string
  /** This node's id: restore offers carry it. */
  nodeId: string
  /** node.heartbeatTtl: the restore window, the liveness grace and restored heartbeats last this long. */
  heartbeatTtl: number
  /** False while this node's credential may not write desired state (a joined worker): it offers no restore. */
  canRestore?: () => boolean
}

/** The view consumers read (tasks and nodes merged from their parts; the parts themselves are `feed.parts`). */
export type ClusterState = Omit<Snapshot, 'skipped' | 'lastStreamId' | 'fence' | 'restoring' | 'parts'>

function emptyState (parts: Parts): ClusterState {
  return { epoch: '', rev: 0, services: parts.services, tasks: new Map(), health: parts.health, nodes: new Map(), alive: new Set() }
}

/** Resolves when the connection is ready, or after `ms` (the caller's next command then reports the outage). */
async function waitReady (redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); redis.off('ready', done); resolve() }
    const timer = setTimeout(done, ms)
    redis.once('ready', done)
  })
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms).unref())

const message = (err: unknown): string => (err as Error)?.message ?? String(err)

export class RegistryFeed extends EventEmitter {
  /** Current view; replaced on a full read, mutated in place by the stream tail. Read-only for everyone else. */
  state: ClusterState
  /** The stored parts behind `state` (what a restore offer writes back); replaced with it. */
  parts: Parts = emptyParts()
  up = false
  /** Date.now() of the last successful contact with Redis. */
  lastSyncAt = 0
  /** Full reads done (for tests and metrics). */
  fullReads = 0
  /** Highest scheduler fencing token seen (a restore continues above it). */
  fence = 0
  readonly #store: RegistryStore
  readonly #reader: Redis
  readonly #options: FeedOptions
  readonly #log: Logger
  readonly #grace: LivenessGrace
  #lastId = '0-0'
  #stopped = false
  #graceTimer: NodeJS.Timeout | null = null
  #timers: NodeJS.Timeout[] = []
  #resyncing: Promise<void> | null = null
  #running: Promise<void> | null = null
  #firstRead: Promise<void>
  #resolveFirst: () => void = () => {}
  /** The restore this node last weighed in on (restore.ts restoreKey). */
  #lastHeard = ''

  constructor (store: RegistryStore, reader: Redis, options: FeedOptions) {
    super()
    this.#store = store
    this.#reader = reader
    this.#options = options
    this.#log = createLogger('registry')
    this.#grace = new LivenessGrace(options.heartbeatTtl)
    this.#firstRead = new Promise((resolve) => { this.#resolveFirst = resolve })
    this.state = emptyState(this.parts)
  }

  /** Date.now() until which no node may be judged dead (after a restore, a new epoch or a reconnect); 0 when none. */
  get graceUntil (): number { return this.#grace.until }

  /** Starts; resolves after the first full read, or after `maxWait` ms if Redis is not there. */
  async start (maxWait = 3000): Promise<void> {
    this.#running = this.#run()
    this.#timers.push(setInterval(() => { this.#background(this.resync('periodic'), 'periodic full read') }, this.#options.resyncInterval).unref())
    await Promise.race([this.#firstRead, sleep(maxWait)])
  }

  async stop (): Promise<void> {
    this.#stopped = true
    for (const t of this.#timers) clearInterval(t)
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer)
    this.#reader.disconnect()
    await this.#running?.catch((err: unknown) => { this.#log.debug('feed loop ended: %s', message(err)) })
  }

  /** A full re-read; concurrent callers share one. */
  async resync (reason: string): Promise<void> {
    if (this.#resyncing !== null) return await this.#resyncing
    this.#resyncing = this.#fullRead(reason).finally(() => { this.#resyncing = null })
    return await this.#resyncing
  }

  /**
   * What the node's heartbeat read of the epoch found ('' = none): a
   * registry flushed, restored or replaced under this node is re-read (and,
   * when it lost its state, offered this node's) without waiting for the
   * next periodic read.
   */
  noticeEpoch (epoch: string): void {
    if (this.#stopped || this.#resyncing !== null || epoch === this.state.epoch) return
    this.#background(this.resync('epoch'), 'full read after an epoch change')
  }

  /** Runs a timer-started read; a failure is the outage the tail reports, so it only gets a debug line. */
  #background (p: Promise<void>, what: string): void {
    p.catch((err: unknown) => { this.#log.debug('%s failed: %s', what, message(err)) })
  }

  async #run (): Promise<void> {
    let delay = 50
    await Promise.all([waitReady(this.#store.redis, this.#options.reconnectMaxDelay), waitReady(this.#reader, this.#options.reconnectMaxDelay)])
    while (!this.#stopped) {
      try {
        await this.resync(this.fullReads === 0 ? 'start' : 'reconnect')
        delay = 50
        await this.#tail()
      } catch (err) {
        if (this.#stopped) return
        this.#down(err)
        await sleep(delay)
        delay = Math.min(delay * 2, this.#options.reconnectMaxDelay)
      }
    }
  }

  #down (err: unknown): void {
    this.up = false
    this.#log.once('down', 'warn', `registry ${redactUrl(this.#options.url)} unreachable (${message(err)}); serving the last-known-good table at revision ${this.state.rev}`)
  }

  #markUp (): void {
    this.lastSyncAt = Date.now()
    if (!this.up) {
      this.up = true
      if (this.#log.reset('down')) this.#log.info(`registry reachable again at revision ${this.state.rev}`)
    }
  }

  #seeFence (fence: number): void {
    if (fence > this.fence) this.fence = fence
  }

  async #fullRead (reason: string): Promise<void> {
    const mine = this.state
    let snap = await this.#store.snapshot()
    this.#seeFence(snap.fence)
    let restored = snap.restoring !== null
    if (offerDue(mine, snap, this.#lastHeard) && !(this.#options.canRestore?.() ?? true)) {
      // A joined worker may not write the registry: it keeps serving what it knows while the managers restore it.
      this.#lastHeard = restoreKey(snap)
      this.#log.once('no-offer', 'info', 'the registry lost its state or is being restored: this node (a worker) leaves the restore to the managers and serves what it knows')
    } else if (offerDue(mine, snap, this.#lastHeard)) {
      const answered = restoreKey(snap)
      const outcome = await offerState({ store: this.#store, nodeId: this.#options.nodeId, heartbeatTtl: this.#options.heartbeatTtl, fence: this.fence, log: this.#log }, mine, this.parts, snap)
      this.#lastHeard = outcome.kind === 'restored' || outcome.kind === 'replaced' ? `${this.#options.nodeId}:${mine.rev}` : answered
      restored ||= outcome.kind === 'restored' || outcome.kind === 'replaced'
      snap = await this.#store.snapshot()
      this.#seeFence(snap.fence)
    }
    if (snap.epoch === '' && mine.epoch !== '') {
      // Still empty (flushed again under us): keep serving what we know; the next poll offers again.
      this.#markUp()
      this.#log.debug('registry still has no epoch after a restore offer; keeping revision %d', mine.rev)
      return
    }
    if (snap.epoch === '') {
      this.#log.once('no-epoch', 'warn', `registry ${redactUrl(this.#options.url)} has no cluster epoch: waiting for cluster creation (mesh init, mesh up) or for a node to restore it`)
    } else if (this.#log.reset('no-epoch')) {
      this.#log.info(`registry has cluster epoch ${snap.epoch}`)
    }
    if (mine.epoch !== '' && snap.epoch !== mine.epoch && !restored) {
      this.#log.warn(`registry epoch changed (${mine.epoch} -> ${snap.epoch}): this Redis belongs to another cluster now; following it`)
    }
    if (restored || (mine.epoch !== '' && snap.epoch !== mine.epoch) || reason === 'reconnect') this.#openGrace(mine.alive)
    for (const s of snap.skipped) this.#skipped(s.key, s.reason)
    this.fullReads++
    this.#lastId = snap.lastStreamId
    this.state = { epoch: snap.epoch, rev: snap.rev, services: snap.services, tasks: snap.tasks, health: snap.health, nodes: snap.nodes, alive: this.#grace.apply(snap.alive) }
    this.parts = snap.parts
    this.#markUp()
    this.#resolveFirst()
    this.emit('change', reason, null)
  }

  /** Tails the change stream until an error (thrown) or a gap (returns, so the caller re-reads). */
  async #tail (): Promise<void> {
    const key = this.#store.keys.changes
    while (!this.#stopped) {
      const res = await this.#reader.xread('COUNT', 1000, 'BLOCK', this.#options.blockTimeout, 'STREAMS', key, this.#lastId) as
        Array<[string, Array<[string, string[]]>]> | null
      this.#markUp()
      if (res === null) continue
      const entries = res[0][1]
      let applied = 0
      let gap = ''
      let writtenAt: number | null = null
      let nodesChanged = false
      for (const [id, fields] of entries) {
        this.#lastId = id
        const rev = Number(fields[1])
        // A restore is always re-read whole (and weighed in on), whatever its revision.
        if (fields[2] === 'restore') { gap = 'restore'; break }
        if (rev <= this.state.rev) continue
        if (rev !== this.state.rev + 1) {
          this.#log.debug('revision gap at %s (have %d, got %d): full read', id, this.state.rev, rev)
          gap = 'gap'
          break
        }
        nodesChanged = this.#apply(fields, rev) || nodesChanged
        this.state.rev = rev
        writtenAt = Number(id.slice(0, id.indexOf('-')))
        applied++
      }
      if (nodesChanged) this.state.alive = this.#grace.apply(aliveOf(this.state.nodes, this.parts.liveness))
      // A gap ends in a full read, which announces the whole state itself.
      if (gap !== '') await this.resync(gap)
      else if (applied > 0 && this.#resyncing === null) this.emit('change', 'stream', writtenAt)
    }
  }

  /** Applies one entry's parts; true when one can change which nodes are alive. */
  #apply (fields: string[], rev: number): boolean {
    const parts = this.parts
    let nodes = false
    for (let i = 2; i < fields.length; i += 2) {
      const colon = fields[i].indexOf(':')
      const char = fields[i].slice(0, colon)
      const id = fields[i].slice(colon + 1)
      if (char === ACK_CHAR) {
        this.emit('ack', id, fields[i + 1], rev)
        continue
      }
      const part = CHAR_PART[char]
      if (part === undefined) continue
      let value = null
      if (fields[i + 1] !== '') {
        const decoded = decodePart(part, fields[i + 1])
        if (decoded.ok) value = decoded.value
        else this.#skipped(`${this.#store.keys.partHash(part)} ${id}`, decoded.reason)
      }
      nodes = applyPart(parts, this.state, part, id, value) || nodes
    }
    return nodes
  }

  /** One line per bad record and reason, whether the stream or a full read brought it. */
  #skipped (key: string, reason: string): void {
    this.#log.once(`skip ${key} ${reason}`, 'warn', `skipping malformed registry record ${key}: ${reason}`)
  }

  /** Holds `alive` for one heartbeat TTL, and drops whoever did not come back when it ends. */
  #openGrace (alive: ReadonlySet<string>): void {
    this.#grace.open(alive)
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer)
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null
      if (this.#stopped) return
      const before = this.state.alive
      const alive = this.#grace.apply(aliveOf(this.state.nodes, this.parts.liveness))
      if (alive.size === before.size && [...alive].every((id) => before.has(id))) return
      this.state.alive = alive
      this.emit('change', 'liveness', null)
    }, this.#options.heartbeatTtl + 10)
    this.#graceTimer.unref()
  }

  /** The nodes this node saw alive that may restore (the window waits for them). */
  restorers (): Set<string> {
    const out = new Set<string>()
    for (const id of this.state.alive) if (canWriteRegistry(this.state.nodes.get(id))) out.add(id)
    return out
  }
}
