/**
 * The leader's inbox: one blocking read (XREAD BLOCK on its own
 * connection) over every joined node's report stream and the join-request
 * streams, while this manager leads.
 *
 * - Reports are folded into the registry (RegistryStore.fold: each one
 *   checked to be the node's own, atomically with the write), in order, from
 *   the position the last leader recorded, so a failover loses none and
 *   applies none twice. A fold refused while the registry is being restored
 *   is retried; a fenced one means another manager leads: step down.
 * - Join requests are handed to the join desk (join-desk.ts).
 *
 * The set of streams follows the registry (a node joined, was removed):
 * the read in flight is interrupted with CLIENT UNBLOCK to start over with
 * the new set, so an idle cluster costs one blocked command per leader.
 */
import type Redis from 'ioredis'
import { isMeshError } from '../errors'
import type { NodeContext } from '../node/context'
import { describeRegistryError } from '../registry/errors'
import type { StoredChange } from '../registry/write-ops'
import type { Logger } from '../util/log'
import type { Lease } from './lease'

export interface JoinHandler {
  /** Answers one join request (fields as appended by the joiner); never rejects. */
  handle: (role: 'worker' | 'manager', id: string, fields: string[]) => Promise<void>
}

type XReadReply = Array<[string, Array<[string, string[]]>]> | null

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Join requests older than this when a leader starts are left unanswered (a joiner waits 20 s: it gave up, or is about to). */
const JOIN_BACKLOG_MS = 10_000

export class Inbox {
  readonly #ctx: NodeContext
  readonly #lease: Lease
  readonly #log: Logger
  readonly #joins: JoinHandler | null
  readonly #onChange: () => void
  #conn: Redis | null = null
  #clientId = 0
  #running: Promise<void> | null = null
  #active = false
  /** Bumped by every start and stop: a run of another generation ends. */
  #gen = 0
  /** Stream key -> the last id read (reports: folded). */
  #positions = new Map<string, string>()
  /** The streams the read in flight waits on. */
  #reading = ''

  constructor (ctx: NodeContext, lease: Lease, log: Logger, joins: JoinHandler | null) {
    this.#ctx = ctx
    this.#lease = lease
    this.#log = log
    this.#joins = joins
    this.#onChange = () => { this.#restartIfChanged() }
  }

  start (): void {
    if (this.#active) return
    this.#active = true
    const gen = ++this.#gen
    this.#ctx.feed.on('change', this.#onChange)
    const previous = this.#running ?? Promise.resolve()
    this.#running = previous.then(async () => { await this.#run(gen) }).catch((err: unknown) => {
      this.#log.error(`the leader's inbox stopped: ${(err as Error)?.stack ?? String(err)}`)
    })
  }

  async stop (): Promise<void> {
    if (!this.#active) return
    this.#active = false
    this.#gen++
    this.#ctx.feed.off('change', this.#onChange)
    this.#conn?.disconnect()
    await this.#running
  }

  #live (gen: number): boolean { return gen === this.#gen && this.#lease.leader }

  /** The report streams of the nodes with a credential of their own (workers, and managers that were). */
  #streams (): string[] {
    const k = this.#ctx.store.keys
    const out: string[] = []
    for (const n of this.#ctx.feed.state.nodes.values()) if ((n.user ?? '') !== '') out.push(k.reports(n.id))
    out.sort()
    if (this.#joins !== null) out.push(k.joinRequests('worker'), k.joinRequests('manager'))
    return out
  }

  #restartIfChanged (): void {
    if (!this.#active || this.#clientId === 0 || this.#reading === '') return
    if (this.#streams().join(' ') === this.#reading) return
    this.#ctx.store.redis.call('CLIENT', 'UNBLOCK', String(this.#clientId)).catch((err: unknown) => {
      this.#log.debug('CLIENT UNBLOCK of the inbox read failed (it ends within registry.blockTimeout anyway): %s', (err as Error).message)
    })
  }

  async #run (gen: number): Promise<void> {
    const { store, config } = this.#ctx
    const k = store.keys
    const conn = this.#conn = this.#ctx.newRedis('inbox')
    this.#clientId = 0
    try {
      const folded = await this.#retrying(gen, async () => await store.redis.hgetall(k.folded))
      if (folded === null) return
      this.#positions = new Map(Object.entries(folded).map(([node, id]) => [k.reports(node), id]))
      const backlog = `${Date.now() - JOIN_BACKLOG_MS}-0`
      this.#positions.set(k.joinRequests('worker'), backlog)
      this.#positions.set(k.joinRequests('manager'), backlog)
      while (this.#live(gen)) {
        if (conn.status !== 'ready') {
          await sleep(100)
          continue
        }
        try {
          if (this.#clientId === 0) this.#clientId = Number(await conn.call('CLIENT', 'ID'))
          const streams = this.#streams()
          this.#reading = streams.join(' ')
          const ids = streams.map((s) => this.#positions.get(s) ?? '0-0')
          const res = await conn.xread('COUNT', 200, 'BLOCK', config.registry.blockTimeout, 'STREAMS', ...streams, ...ids) as XReadReply
          this.#reading = ''
          if (res === null) continue
          for (const [stream, entries] of res) await this.#handle(gen, stream, entries)
        } catch (err) {
          this.#reading = ''
          if (!this.#live(gen)) return
          this.#log.once('inbox', 'warn', `the leader's inbox read failed (retrying): ${describeRegistryError(err)}`)
          this.#clientId = 0
          await sleep(200)
        }
      }
    } finally {
      conn.disconnect()
    }
  }

  async #handle (gen: number, stream: string, entries: Array<[string, string[]]>): Promise<void> {
    const k = this.#ctx.store.keys
    if (entries.length === 0) return
    const last = entries[entries.length - 1][0]
    if (stream === k.joinRequests('worker') || stream === k.joinRequests('manager')) {
      const role = stream === k.joinRequests('worker') ? 'worker' : 'manager'
      for (const [id, fields] of entries) await this.#joins?.handle(role, id, fields)
      this.#positions.set(stream, last)
      return
    }
    const nodeId = stream.slice(k.reportPrefix.length)
    const changes: StoredChange[] = []
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const colon = fields[i].indexOf(':')
        changes.push([fields[i].slice(0, colon), fields[i].slice(colon + 1), fields[i + 1]])
      }
    }
    for (;;) {
      if (!this.#live(gen)) return
      try {
        const r = await this.#ctx.store.fold(nodeId, last, changes, { fence: this.#lease.token })
        this.#positions.set(stream, last)
        if (r.refused > 0) {
          const name = this.#ctx.feed.state.nodes.get(nodeId)?.name ?? nodeId
          this.#log.once(`refused ${nodeId}`, 'warn', `refused ${r.refused} report(s) from node ${name}: not its own tasks or status (a worker may report only on what is placed on it)`)
        }
        return
      } catch (err) {
        if (isMeshError(err, 'MESH_ERR_REGISTRY_FENCED')) {
          this.#lease.stepDown(err.message)
          return
        }
        if (!isMeshError(err, 'MESH_ERR_REGISTRY_EPOCH')) this.#log.once('fold', 'warn', `folding the reports of node ${nodeId} failed (retrying): ${describeRegistryError(err)}`)
        await sleep(200)
      }
    }
  }

  /** `fn` retried while this run lasts; null when it ended first. */
  async #retrying<T> (gen: number, fn: () => Promise<T>): Promise<T | null> {
    while (this.#live(gen)) {
      try {
        return await fn()
      } catch (err) {
        this.#log.debug('inbox: %s', (err as Error).message)
        await sleep(200)
      }
    }
    return null
  }
}
