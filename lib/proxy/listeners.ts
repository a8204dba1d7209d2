/**
 * Opens and closes one listener per published port as tables swap: http
 * and https (L7Listener, https behind TLS termination with the node's
 * certificates), tcp and tls (L4Listener, tls routed by SNI), udp
 * (UdpListener; a port number may be open over TCP and UDP at once). A port
 * that cannot be bound (in use, no permission) is logged once, counted, and
 * retried every `listenRetry`; never a crash. A port that leaves the table
 * stops accepting at once, and its open connections close after the
 * exchange they have in flight (they never serve a route that left).
 */
import { performance } from 'node:perf_hooks'
import type { PassiveHealth } from '../balancer/passive-health'
import type { PortEntry, RoutingTable } from '../table/routing-table'
import { createLogger } from '../util/log'
import { ConnectionLimit } from './connection-limit'
import { L4Listener, type L4Options } from './l4-listener'
import { L7Listener, type L7Options } from './l7-listener'
import type { TunnelContext } from './tunnel-forward'
import type { Tunnel } from './tunnel'
import { TrustedProxies } from './trusted-proxies'
import { AccessLog } from './access-log'
import type { Http1Shared } from './http1/server'
import { UdpListener, type UdpOptions } from './udp-listener'
import type { CertStore, TlsProfile } from './tls/cert-store'
import type { UnknownName } from './tls/tls-front'
import type { Protocol } from '../registry/types'

const log = createLogger('listener')

/** While draining, how often connections that turned idle are closed. */
const DRAIN_SWEEP_MS = 50
/** At shutdown, a tunnel (WebSocket, TCP) through which nothing moved for this long is closed at once. */
const TUNNEL_IDLE_MS = 200

export type ListenerState = 'opening' | 'open' | 'failed' | 'closed'

/** What the set drives of a listener's server: a net.Server, a tls.Server or a UDP socket's. */
interface Bindable {
  listen: (o: { host: string, port: number, exclusive?: boolean }) => unknown
  close: (cb?: () => void) => unknown
  on: (event: 'error', cb: (err: NodeJS.ErrnoException) => void) => unknown
  once: ((event: 'error', cb: (err: NodeJS.ErrnoException) => void) => unknown) & ((event: 'listening' | 'close', cb: () => void) => unknown)
  off: ((event: 'error', cb: (err: NodeJS.ErrnoException) => void) => unknown) & ((event: 'listening', cb: () => void) => unknown)
}

export interface Listener {
  readonly port: number
  readonly protocol: Protocol
  readonly impl: L7Listener | L4Listener | UdpListener
  state: ListenerState
  error: string
  retry: NodeJS.Timeout | null
}

export interface ListenerOptions {
  bind: string
  listenRetry: number
  l7: L7Options
  l4: L4Options
  maxTries: number
  accessLog: boolean
  /** Client connections this process may hold (proxy.maxConnections, this worker's share). */
  maxConnections: number
  trustedProxies: readonly string[]
  udp: UdpOptions
  /** Whether this process serves UDP ports (with --workers, one worker does: a flow must stay in one process). */
  serveUdp: boolean
  /** HTTPS ports: the node's certificates (kept current by the node), its TLS profile and the unknown-SNI policy. */
  tls: { certs: CertStore, profile: TlsProfile, unknownName: UnknownName }
}

/** A listener's key: its number, with `/udp` for a UDP port. */
function keyOf (port: number, protocol: Protocol): string { return protocol === 'udp' ? `${port}/udp` : String(port) }

export class ListenerSet {
  readonly #listeners = new Map<string, Listener>()
  readonly #options: ListenerOptions
  readonly #passive: PassiveHealth
  readonly #ctx: TunnelContext
  readonly #shared: Http1Shared & { draining: boolean }
  readonly tunnels = new Set<Tunnel>()
  readonly limit: ConnectionLimit
  #closing = false
  /** Bind failures since start (metric). */
  bindFailures = 0

  constructor (options: ListenerOptions, passive: PassiveHealth) {
    this.#options = options
    this.#passive = passive
    this.limit = new ConnectionLimit(options.maxConnections)
    this.#shared = { draining: false, limit: this.limit, trusted: new TrustedProxies(options.trustedProxies) }
    this.#ctx = {
      passive,
      maxTries: options.maxTries,
      draining: false,
      accessLog: options.accessLog ? new AccessLog() : null,
      connectTimeout: options.l7.connectTimeout,
      headersTimeout: options.l7.headersTimeout,
      maxHeaderSize: options.l7.maxHeaderSize,
      tunnels: this.tunnels
    }
  }

  /** Open (or opening, or failed) listeners by key: the port number, `N/udp` for UDP. */
  get listeners (): ReadonlyMap<string, Listener> { return this.#listeners }

  /** Brings the listeners in line with a new table. */
  apply (table: RoutingTable): void {
    if (this.#closing) return
    const wanted = new Set<string>()
    for (const entries of this.#options.serveUdp ? [table.ports, table.udp] : [table.ports]) {
      for (const entry of entries.values()) {
        const key = keyOf(entry.port, entry.protocol)
        wanted.add(key)
        const current = this.#listeners.get(key)
        if (current !== undefined && current.protocol === entry.protocol) {
          current.impl.entry = entry
          continue
        }
        if (current !== undefined) this.#close(key, current)
        this.#open(key, entry)
      }
    }
    for (const [key, l] of this.#listeners) if (!wanted.has(key)) this.#close(key, l)
  }

  #make (entry: PortEntry): L7Listener | L4Listener | UdpListener {
    switch (entry.protocol) {
      case 'http': return new L7Listener(entry, this.#options.l7, this.#ctx, this.#shared)
      case 'https': {
        let listener: L7Listener | null = null
        const t = this.#options.tls
        listener = new L7Listener(entry, this.#options.l7, this.#ctx, this.#shared,
          { certs: t.certs, profile: t.profile, unknownName: t.unknownName, defaultCert: () => entryCert(listener?.entry ?? entry) })
        return listener
      }
      case 'tcp': return new L4Listener(entry, this.#options.l4, this.#passive, this.limit, this.#shared.trusted)
      case 'tls': return new L4Listener(entry, this.#options.l4, this.#passive, this.limit, this.#shared.trusted, true)
      case 'udp': return new UdpListener(entry, this.#options.udp, this.#options.bind.includes(':'))
    }
  }

  #open (key: string, entry: PortEntry): void {
    const impl = this.#make(entry)
    const l: Listener = { port: entry.port, protocol: entry.protocol, impl, state: 'opening', error: '', retry: null }
    this.#listeners.set(key, l)
    // After it listens, a server fails only on accept (EMFILE when the process is out of descriptors):
    // that is logged, never an uncaught 'error' that would end the node.
    impl.server.on('error', (err: NodeJS.ErrnoException) => {
      if (l.state === 'open') log.once(`accept ${l.port} ${err.code ?? ''}`, 'warn', `port ${l.port}: accepting a connection failed (${err.code ?? err.message})`)
    })
    this.#listen(l)
  }

  #listen (l: Listener): void {
    const server: Bindable = l.impl.server
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      if (l.state === 'closed') return
      this.bindFailures++
      l.state = 'failed'
      l.error = err.code ?? err.message
      log.once(`bind ${l.port} ${l.error}`, 'error', `cannot listen on ${this.#options.bind}:${l.port} (${l.error}${err.code === 'EACCES' ? ': ports below 1024 need root or CAP_NET_BIND_SERVICE' : ''}); retrying every ${this.#options.listenRetry} ms`)
      l.retry = setTimeout(() => { l.retry = null; if (l.state === 'failed') this.#listen(l) }, this.#options.listenRetry)
      l.retry.unref()
    }
    const onListening = (): void => {
      server.off('error', onError)
      if (l.state === 'failed') log.info(`now listening on ${this.#options.bind}:${l.port}`)
      l.state = 'open'
      l.error = ''
      log.reset(`bind ${l.port} EADDRINUSE`)
      log.debug('listening on %s:%d (%s)', this.#options.bind, l.port, l.protocol)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host: this.#options.bind, port: l.port, exclusive: false })
  }

  #close (key: string, l: Listener): void {
    this.#listeners.delete(key)
    if (l.retry !== null) clearTimeout(l.retry)
    const wasOpen = l.state === 'open'
    l.state = 'closed'
    l.impl.server.close() // also when it never bound: its 'close' stops the listener's timers
    if (!wasOpen) return
    l.impl.retire()
    log.debug('closed listener on port %d', l.port)
  }

  /**
   * Stops accepting everywhere, lets in-flight requests finish for up to
   * `graceMs`, then drops what is left. Keep-alive connections must not hold
   * the node up: responses from now on say Connection: close, connections
   * that turn idle are closed as they do, and so are tunnels (WebSocket,
   * TCP) through which nothing moves; busy ones last until the deadline.
   */
  async close (graceMs: number): Promise<void> {
    this.#closing = true
    this.#ctx.draining = true
    this.#shared.draining = true
    const open = [...this.#listeners.values()].filter((l) => l.state === 'open')
    const closed = Promise.all(open.map(async (l) => await new Promise<void>((resolve) => { l.impl.server.once('close', () => { resolve() }) })))
    for (const [key, l] of [...this.#listeners]) this.#close(key, l)
    const sweep = (): void => {
      const now = performance.now()
      for (const t of this.tunnels) if (!t.closed && t.idle(now, TUNNEL_IDLE_MS)) t.goAway()
      for (const l of open) {
        l.impl.closeIdle()
        if (l.impl instanceof L4Listener) l.impl.closeQuiet(now, TUNNEL_IDLE_MS)
      }
    }
    sweep()
    const timer = setInterval(sweep, DRAIN_SWEEP_MS)
    let deadline: NodeJS.Timeout | undefined
    await Promise.race([closed, new Promise<void>((resolve) => { deadline = setTimeout(resolve, graceMs) })])
    clearTimeout(deadline)
    clearInterval(timer)
    for (const l of open) l.impl.dropConnections()
    for (const t of this.tunnels) t.destroy()
    this.#ctx.accessLog?.close()
  }
}

/** An HTTPS port's default certificate: the first of its routes that names one (null: SNI alone decides). */
function entryCert (entry: PortEntry): string | null {
  for (const r of entry.routes) if (r.options.cert !== null) return r.options.cert
  return null
}
