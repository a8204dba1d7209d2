/**
 * A TCP listener for one published port: per-connection round robin,
 * bidirectional copy with backpressure and half-close, connect timeout, and
 * a failed connect tries the next endpoint. Client -> upstream is a pipe();
 * upstream -> client reads into our own buffers (see l4-upstream-read).
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { Endpoint } from '../balancer/endpoint'
import type { PassiveHealth } from '../balancer/passive-health'
import { ERR_CONNECT, ERR_TIMEOUT } from '../metrics/route-stats'
import type { PortEntry, Route } from '../table/routing-table'
import { UpstreamReader } from './l4-upstream-read'

export interface L4Options {
  connectTimeout: number
  idleTimeout: number
  maxTries: number
}

/** One client connection being bridged. Fixed shape; handlers bound once per connection. */
class Bridge {
  readonly client: Socket
  readonly route: Route
  readonly listener: L4Listener
  upstream: Socket | null = null
  ep: Endpoint | null = null
  tries = 0
  connected = false

  constructor (client: Socket, route: Route, listener: L4Listener) {
    this.client = client
    this.route = route
    this.listener = listener
    client.on('error', () => { this.upstream?.destroy() })
    client.on('close', () => { this.#closed() })
  }

  dial (ep: Endpoint): void {
    this.ep = ep
    this.tries++
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
    const timeout = err.code === 'ETIMEDOUT'
    this.route.stats.upstreamErrors[timeout ? ERR_TIMEOUT : ERR_CONNECT]++
    this.listener.passive.failure(ep, err.code ?? err.message)
    if (this.client.destroyed) return
    if (this.tries < this.listener.options.maxTries && this.tries < this.route.balancer.endpoints.length) {
      const next = this.route.balancer.pick()
      if (next !== null && next !== ep) {
        this.dial(next)
        return
      }
    }
    this.client.destroy()
  }

  #closed (): void {
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
  readonly #sockets = new Set<Socket>()

  constructor (entry: PortEntry, options: L4Options, passive: PassiveHealth) {
    this.entry = entry
    this.options = options
    this.passive = passive
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => { this.#onConnection(socket) })
  }

  closeIdle (): void {}

  dropConnections (): void {
    for (const s of this.#sockets) s.destroy()
  }

  #onConnection (client: Socket): void {
    this.#sockets.add(client)
    client.once('close', () => { this.#sockets.delete(client) })
    const route = this.entry.single ?? this.entry.routes[0] ?? null
    if (route === null) {
      client.destroy()
      return
    }
    route.stats.tcpConnections++
    route.stats.tcpActive++
    const bridge = new Bridge(client, route, this)
    const ep = route.balancer.pick()
    if (ep === null) {
      client.destroy()
      return
    }
    bridge.dial(ep)
  }
}
