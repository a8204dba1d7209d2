/**
 * The dashboard's Server-Sent Events (GET /events): `view` (nodes, services,
 * tasks: cluster-view.ts) whenever the registry changed or the leader moved,
 * and `stats` every tick (this node's traffic per endpoint, heartbeat ages,
 * registry up/down and propagation lag). A new client gets both at once.
 *
 * Runs only while at least one client is connected: no timer, no Redis read
 * and no sampling otherwise. A client that does not keep up (more than
 * MAX_BUFFERED bytes waiting on its socket) is disconnected; the browser's
 * EventSource reconnects and starts from a fresh view.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { PassiveHealth } from '../balancer/passive-health'
import { quantile } from '../metrics/histogram'
import type { RegistryFeed } from '../registry/feed'
import type { RegistryStore } from '../registry/store'
import type { TableSource } from '../table/table-source'
import { clusterView } from './cluster-view'
import { EndpointRates } from './endpoint-rates'
import { LivenessReader, type Liveness } from './liveness-reader'
import { createLogger } from '../util/log'

const log = createLogger('admin')

export interface DashboardSources {
  feed: RegistryFeed
  store: RegistryStore
  self: { id: string, name: string }
  heartbeatTtl: number
  /** This node's tables and passive health; null in a --workers primary (the workers hold them). */
  tables: TableSource | null
  passive: PassiveHealth | null
}

export interface EventStreamOptions {
  /** How often stats are sent (ms). */
  tickMs?: number
  /** How soon after a registry change the view follows (ms). */
  changeDelayMs?: number
}

const MAX_BUFFERED = 8 * 1024 * 1024

export class EventStream {
  readonly #src: DashboardSources
  readonly #clients = new Set<ServerResponse>()
  readonly #rates: EndpointRates | null
  readonly #liveness: LivenessReader
  readonly #tickMs: number
  readonly #changeDelayMs: number
  readonly #onChange = (): void => { this.#viewDirty = true; this.#soon() }
  #timer: NodeJS.Timeout | null = null
  #soonTimer: NodeJS.Timeout | null = null
  #ticking: Promise<void> | null = null
  #viewDirty = true
  #view = ''
  #live: Liveness | null = null
  #propagation = { count: 0, sum: 0, lastMs: null as number | null }

  constructor (src: DashboardSources, options: EventStreamOptions = {}) {
    this.#src = src
    this.#rates = src.tables === null ? null : new EndpointRates(src.tables)
    this.#liveness = new LivenessReader(src.store, src.heartbeatTtl)
    this.#tickMs = options.tickMs ?? 1000
    this.#changeDelayMs = options.changeDelayMs ?? 100
  }

  get clients (): number { return this.#clients.size }

  attach (req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no'
    })
    res.write('retry: 2000\n\n')
    this.#clients.add(res)
    const gone = (): void => { this.#detach(res) }
    req.socket.setNoDelay(true)
    res.once('close', gone)
    if (this.#clients.size === 1) this.#start()
    if (this.#view !== '' && !this.#viewDirty) this.#send(res, 'view', this.#view)
    this.#soon()
  }

  /** Ends every stream (the admin listener is closing). */
  close (): void {
    for (const res of [...this.#clients]) res.end()
    this.#clients.clear()
    this.#stop()
  }

  #detach (res: ServerResponse): void {
    if (!this.#clients.delete(res)) return
    if (this.#clients.size === 0) this.#stop()
  }

  #start (): void {
    this.#viewDirty = true
    this.#src.feed.on('change', this.#onChange)
    this.#timer = setInterval(() => { this.#tick() }, this.#tickMs)
    this.#timer.unref()
  }

  #stop (): void {
    this.#src.feed.off('change', this.#onChange)
    if (this.#timer !== null) clearInterval(this.#timer)
    if (this.#soonTimer !== null) clearTimeout(this.#soonTimer)
    this.#timer = null
    this.#soonTimer = null
  }

  /** A tick shortly (coalesced): after a registry change, or for a new client. */
  #soon (): void {
    if (this.#soonTimer !== null || this.#clients.size === 0) return
    this.#soonTimer = setTimeout(() => { this.#soonTimer = null; this.#tick() }, this.#changeDelayMs)
    this.#soonTimer.unref()
  }

  #tick (): void {
    if (this.#ticking !== null || this.#clients.size === 0) return
    this.#ticking = this.#update().catch((err: unknown) => {
      log.warn(`dashboard update failed: ${(err as Error).message}`)
    }).finally(() => { this.#ticking = null })
  }

  async #update (): Promise<void> {
    const state = this.#src.feed.state
    const live = this.#src.feed.up ? await this.#liveness.read([...state.nodes.keys()]) : null
    if ((live?.leaderId ?? null) !== (this.#live?.leaderId ?? null)) this.#viewDirty = true
    this.#live = live
    if (this.#viewDirty) {
      this.#viewDirty = false
      this.#view = JSON.stringify(clusterView(this.#src.feed.state, this.#src.self.id, live?.leaderId ?? null))
      this.#broadcast('view', this.#view)
    }
    this.#broadcast('stats', JSON.stringify(this.#stats(live)))
  }

  #stats (live: Liveness | null): Record<string, unknown> {
    const { feed, tables, passive } = this.#src
    return {
      at: Date.now(),
      node: this.#src.self.name,
      registryUp: feed.up,
      syncAgeMs: feed.lastSyncAt === 0 ? null : Date.now() - feed.lastSyncAt,
      servedRev: tables?.current().rev ?? feed.state.rev,
      propagation: this.#propagationStats(),
      leaderId: live?.leaderId ?? null,
      nodes: live?.nodes ?? {},
      endpoints: this.#rates?.sample() ?? null,
      ejections: passive?.ejections ?? null
    }
  }

  /** The mean of the propagation times observed since the previous tick (the last one kept when none), and the p99 since start. */
  #propagationStats (): { lastMs: number | null, p99Ms: number | null } {
    const h = this.#src.tables?.propagation
    if (h === undefined) return { lastMs: null, p99Ms: null }
    const p = this.#propagation
    if (h.count > p.count) p.lastMs = ((h.sum - p.sum) / (h.count - p.count)) * 1000
    p.count = h.count
    p.sum = h.sum
    const p99 = quantile(0.99, h.counts, h.bounds)
    return { lastMs: p.lastMs, p99Ms: p99 === null ? null : p99 * 1000 }
  }

  #broadcast (event: string, data: string): void {
    for (const res of this.#clients) this.#send(res, event, data)
  }

  #send (res: ServerResponse, event: string, data: string): void {
    if (res.writableLength > MAX_BUFFERED) {
      log.debug('dashboard client too slow (%d bytes waiting): disconnected', res.writableLength)
      res.destroy()
      this.#detach(res)
      return
    }
    res.write(`event: ${event}\ndata: ${data}\n\n`)
  }
}
