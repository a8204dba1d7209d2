/**
 * A TCP listener for one published port: per-connection round robin,
 * bidirectional copy with backpressure and half-close, connect timeout, and
 * a failed connect tries an endpoint not tried yet. Client -> upstream is a
 * pipe(); upstream -> client reads into our own buffers (see
 * l4-upstream-read). A connect that fails for lack of this node's own
 * resources (EMFILE, ...) closes the client and never counts against the
 * endpoint.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { Endpoint } from '../balancer/endpoint'
import type { PassiveHealth } from '../balancer/passive-health'
import type { PortEntry, Route } from '../table/routing-table'
import type { ConnectionLimit } from './connection-limit'
import { classify } from './errors-map'
import { encodeProxyHeader, readProxyHeader, type Peer } from './proxy-protocol'
import { readClientHello } from './tls/client-hello'
import type { TrustedProxies } from './trusted-proxies'
import { UpstreamReader } from './l4-upstream-read'
import { Quiet } from './quiet'

export interface L4Options {
  connectTimeout: number
  idleTimeout: number
  maxTries: number
}

/** How long a trusted balancer's connection is watched for a PROXY header before it is bridged without one. */
const PROXY_HEADER_WAIT_MS = 200
/** A TLS passthrough client must have sent its whole ClientHello within this. */
const HELLO_TIMEOUT_MS = 10_000
const EMPTY = Buffer.alloc(0)

/** One client connection being bridged. Fixed shape; handlers bound once per connection. */
class Bridge {
  readonly client: Socket
  readonly route: Route
  readonly listener: L4Listener
  /** Bytes read from the client before the bridge (past a balancer's PROXY header): they go first. */
  readonly head: Buffer
  /** The client as a balancer in front named it, or null (the socket's peer is the client). */
  readonly origin: Peer | null
  upstream: Socket | null = null
  ep: Endpoint | null = null
  /** Endpoints tried so far (connect failures). */
  readonly tried: Endpoint[] = []
  connected = false
  /** For shutdown: an idle connection is closed at once. */
  readonly quiet = new Quiet()

  constructor (client: Socket, route: Route, listener: L4Listener, head: Buffer, origin: Peer | null) {
    this.client = client
    this.route = route
    this.listener = listener
    this.head = head
    this.origin = origin
    client.on('error', () => { this.upstream?.destroy() })
    client.on('close', () => { this.#closed() })
  }

  dial (ep: Endpoint): void {
    this.ep = ep
    this.tried.push(ep)
    const up = connect({ host: ep.host, port: ep.port, noDelay: true, allowHalfOpen: true, onread: new UpstreamReader(this.client) })
    this.upstream = up
    up.setTimeout(this.listener.options.connectTimeout)
    up.once('timeout', () => { if (!this.connected) up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })) })
    up.once('connect', () => { this.#onConnect(up) })
    up.on('error', (err: Error & { code?: string }) => { this.#onUpstreamError(up, err) })
  }

  #onConnect (up: Socket): void {
    if (up !== this.upstream) return
    this.connected = true
    const ep = this.ep as Endpoint
    this.listener.passive.success(ep)
    up.setTimeout(this.listener.options.idleTimeout)
    if (this.listener.options.idleTimeout > 0) {
      up.on('timeout', () => { up.destroy(); this.client.destroy() })
    }
    const client = this.client
    const pp = this.route.options.proxyProtocol
    if (pp !== null) {
      // The endpoint learns who the client is: first bytes of the session.
      const source = this.origin ?? { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 }
      up.write(encodeProxyHeader(pp, source, { address: client.localAddress ?? '', port: client.localPort ?? 0 }))
    }
    if (this.head.length > 0) up.write(this.head)
    client.pipe(up)
    // Upstream data goes to the client from UpstreamReader; a full client stops the reads, 'drain' restarts them.
    client.on('drain', () => { up.resume() })
    up.on('end', () => { client.end() })
    // Ended (half-close both ways): let the written data flush; the socket closes once both sides ended.
    up.on('close', () => { if (!client.writableEnded) client.destroy() })
    client.resume()
  }

  #onUpstreamError (up: Socket, err: Error & { code?: string }): void {
    if (up !== this.upstream) return
    if (this.connected) {
      this.client.destroy()
      return
    }
    const ep = this.ep as Endpoint
    const c = classify(err)
    this.route.stats.upstreamErrors[c.kind]++
    if (c.passive) this.listener.passive.failure(ep, err.code ?? err.message)
    if (this.client.destroyed) return
    const balancer = this.route.balancer
    if (c.connectFailure && this.tried.length < this.listener.options.maxTries) {
      for (let i = balancer.available; i > 0; i--) {
        const next = balancer.pick()
        if (next !== null && !this.tried.includes(next)) {
          this.dial(next)
          return
        }
      }
    }
    this.client.destroy()
  }

  /** Nothing moved either way for `ms` (counted from the first call). */
  idle (now: number, ms: number): boolean {
    const up = this.upstream
    if (up === null || !this.connected) return false
    return this.quiet.check(this.client.bytesRead + up.bytesRead, this.client.writableLength + up.writableLength, now, ms)
  }

  #closed (): void {
    this.listener.forget(this)
    const s = this.route.stats
    s.tcpActive--
    s.bytesIn += this.client.bytesRead
    s.bytesOut += this.client.bytesWritten
    this.upstream?.destroy()
  }
}

export class L4Listener {
  entry: PortEntry
  readonly server: Server
  readonly options: L4Options
  readonly passive: PassiveHealth
  readonly #limit: ConnectionLimit
  readonly #trusted: TrustedProxies
  readonly #bridges = new Set<Bridge>()
  /** TLS passthrough: each session is routed by the server name of its ClientHello (Traefik's HostSNI). */
  readonly #bySni: boolean
  /** Passthrough sessions closed for a ClientHello without a known server name, or no ClientHello (metric). */
  sniRefused = 0

  constructor (entry: PortEntry, options: L4Options, passive: PassiveHealth, limit: ConnectionLimit, trusted: TrustedProxies, bySni = false) {
    this.entry = entry
    this.options = options
    this.passive = passive
    this.#limit = limit
    this.#trusted = trusted
    this.#bySni = bySni
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => { this.#onConnection(socket) })
  }

  /** A TCP session has no idle state between requests to close it at: see closeQuiet. */
  closeIdle (): void {}

  /** The port left the table: open sessions go on until they end (the node's drain cuts them). */
  retire (): void {}

  /** At shutdown: ends (FIN both ways) the sessions through which nothing moved for `ms`. */
  closeQuiet (now: number, ms: number): void {
    for (const b of this.#bridges) {
      if (!b.idle(now, ms)) continue
      b.client.end()
      b.upstream?.end()
    }
  }

  dropConnections (): void {
    for (const b of this.#bridges) b.client.destroy()
  }

  forget (b: Bridge): void {
    this.#bridges.delete(b)
  }

  #onConnection (client: Socket): void {
    if (!this.#limit.admit(client)) return
    if (!this.#trusted.has(client.remoteAddress ?? '')) {
      this.#route(client, EMPTY, null)
      return
    }
    // A balancer in front may open with a PROXY header: it is stripped (and its client is who the session is for).
    client.on('error', onEarlyError)
    readProxyHeader(client, PROXY_HEADER_WAIT_MS, (source, rest) => {
      client.off('error', onEarlyError)
      if (!client.destroyed) this.#route(client, rest, source ?? null)
    })
  }

  /** The session's route: the port's only one, or (passthrough) the one its ClientHello names. */
  #route (client: Socket, head: Buffer, origin: Peer | null): void {
    if (!this.#bySni) {
      this.#bridge(client, head, this.entry.single ?? this.entry.routes[0] ?? null, origin)
      return
    }
    let buf = head
    let settled = false
    const timer = setTimeout(() => { refuse() }, HELLO_TIMEOUT_MS)
    const refuse = (): void => {
      done()
      this.sniRefused++
      client.destroy()
    }
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      check()
    }
    const done = (): void => {
      settled = true
      clearTimeout(timer)
      client.off('data', onData)
      client.off('error', onEarlyError)
    }
    const check = (): void => {
      const hello = readClientHello(buf)
      if (hello.kind === 'more') return
      if (hello.kind !== 'sni') { refuse(); return }
      const route = this.entry.lookup(hello.name)
      if (route === null) { refuse(); return }
      done()
      client.pause()
      this.#bridge(client, buf, route, origin)
    }
    client.on('error', onEarlyError)
    client.on('data', onData)
    if (buf.length > 0) check()
    if (!settled) client.resume()
  }

  #bridge (client: Socket, head: Buffer, route: Route | null, origin: Peer | null): void {
    if (route === null) {
      client.destroy()
      return
    }
    route.stats.tcpConnections++
    route.stats.tcpActive++
    const bridge = new Bridge(client, route, this, head, origin)
    this.#bridges.add(bridge)
    const ep = route.balancer.pick()
    if (ep === null) {
      client.destroy()
      return
    }
    bridge.dial(ep)
  }
}

function onEarlyError (): void {}
