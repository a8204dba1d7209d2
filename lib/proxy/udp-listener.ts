/**
 * A UDP listener for one published port: datagrams relayed to the
 * service's endpoints by flow. A flow (client address and port) sticks to
 * one endpoint until it has been idle for `flowTimeout`; a new flow takes
 * the next endpoint in the round robin; replies go back to the client from
 * the published address itself. A flow whose endpoint left the table moves
 * to another one with its next datagram. At most `maxFlows` flows are open;
 * a datagram that would need one more is dropped and counted.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { EventEmitter } from 'node:events'
import { isIPv6 } from 'node:net'
import type { Endpoint } from '../balancer/endpoint'
import type { PortEntry, Route } from '../table/routing-table'
import { createLogger } from '../util/log'

const log = createLogger('udp')

const SOCKET_BUFFER = 4 * 1024 * 1024
const FLOW_BUFFER = 256 * 1024
/** Datagrams a flow holds while its upstream socket connects (a local bind and connect: well under a millisecond). */
const MAX_PENDING = 64

export interface UdpOptions {
  flowTimeout: number
  maxFlows: number
}

/**
 * One client's flow: its own upstream socket, connected to its endpoint (the
 * kernel then filters replies to that endpoint, and a send names no
 * address), so replies are told apart by the socket they come on. Datagrams
 * that arrive while it connects wait in `pending`.
 */
class Flow {
  readonly clientAddress: string
  readonly clientPort: number
  readonly ep: Endpoint
  readonly upstream: Socket
  lastSeen: number
  /** Datagrams to send once connected; null when connected. */
  pending: Buffer[] | null = []

  constructor (clientAddress: string, clientPort: number, ep: Endpoint, upstream: Socket, now: number) {
    this.clientAddress = clientAddress
    this.clientPort = clientPort
    this.ep = ep
    this.upstream = upstream
    this.lastSeen = now
  }
}

/** The bind/close surface the listener set drives, over a dgram socket. */
class UdpServer extends EventEmitter {
  readonly socket: Socket
  constructor (socket: Socket) {
    super()
    this.socket = socket
    socket.on('listening', () => { this.emit('listening') })
    socket.on('error', (err) => { this.emit('error', err) })
    socket.on('close', () => { this.emit('close') })
  }

  listen (o: { host: string, port: number }): void {
    this.socket.bind(o.port, o.host)
  }

  close (cb?: () => void): void {
    try {
      this.socket.close(cb)
    } catch {
      cb?.() // never bound
      this.emit('close')
    }
  }
}

export class UdpListener {
  entry: PortEntry
  readonly server: UdpServer
  readonly #options: UdpOptions
  readonly #flows = new Map<string, Flow>()
  readonly #sweep: NodeJS.Timeout
  // counters (metrics)
  flowsTotal = 0
  datagramsIn = 0
  datagramsOut = 0
  /** Datagrams dropped: no route, no endpoint, or maxFlows reached. */
  dropped = 0

  constructor (entry: PortEntry, options: UdpOptions, ipv6 = false) {
    this.entry = entry
    this.#options = options
    // Large kernel buffers (capped by net.core.rmem_max / wmem_max): a burst from many clients must not be
    // dropped before the relay reads it.
    const socket = createSocket({ type: ipv6 ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER })
    this.server = new UdpServer(socket)
    socket.on('message', (msg, rinfo) => { this.#onMessage(msg, rinfo) })
    this.#sweep = setInterval(() => { this.#expire(Date.now()) }, Math.max(250, Math.min(5000, options.flowTimeout / 4)))
    this.#sweep.unref()
    this.server.once('close', () => { clearInterval(this.#sweep); this.dropConnections() })
  }

  /** Flows open now. */
  get flows (): number { return this.#flows.size }

  /** Flows per endpoint address (metrics: which client goes where). */
  flowsByEndpoint (): Map<string, number> {
    const out = new Map<string, number>()
    for (const f of this.#flows.values()) out.set(f.ep.address, (out.get(f.ep.address) ?? 0) + 1)
    return out
  }

  closeIdle (): void {}
  retire (): void {}

  dropConnections (): void {
    for (const f of this.#flows.values()) this.#close(f)
    this.#flows.clear()
  }

  #onMessage (msg: Buffer, rinfo: RemoteInfo): void {
    this.datagramsIn++
    const route: Route | null = this.entry.single ?? this.entry.routes[0] ?? null
    if (route === null) {
      this.dropped++
      return
    }
    const key = `${rinfo.address}|${rinfo.port}`
    const now = Date.now()
    let flow = this.#flows.get(key)
    if (flow !== undefined && !flow.ep.balancers.has(route.balancer)) {
      // Its endpoint left the table: the flow moves on with this datagram.
      this.#close(flow)
      this.#flows.delete(key)
      flow = undefined
    }
    if (flow === undefined) {
      if (this.#flows.size >= this.#options.maxFlows) {
        this.dropped++
        log.once('max-flows', 'warn', `port ${this.entry.port}: ${this.#options.maxFlows} UDP flows open (udp.maxFlows); dropping datagrams of new clients`)
        return
      }
      const ep = route.balancer.pick()
      if (ep === null) {
        this.dropped++
        return
      }
      flow = this.#open(rinfo, ep, now)
      this.#flows.set(key, flow)
    }
    flow.lastSeen = now
    if (flow.pending === null) flow.upstream.send(msg)
    else if (flow.pending.length < MAX_PENDING) flow.pending.push(msg)
    else this.dropped++
  }

  #open (rinfo: RemoteInfo, ep: Endpoint, now: number): Flow {
    const upstream = createSocket({ type: isIPv6(ep.host) ? 'udp6' : 'udp4', recvBufferSize: FLOW_BUFFER })
    const flow = new Flow(rinfo.address, rinfo.port, ep, upstream, now)
    upstream.connect(ep.port, ep.host, () => {
      const queued = flow.pending ?? []
      flow.pending = null
      for (const m of queued) upstream.send(m)
    })
    upstream.on('message', (reply, from) => {
      if (from.port !== ep.port) return // only the endpoint answers for it
      flow.lastSeen = Date.now()
      this.datagramsOut++
      this.server.socket.send(reply, flow.clientPort, flow.clientAddress)
    })
    upstream.on('error', (err) => { log.debug('flow to %s: %s', ep.address, err.message) })
    this.flowsTotal++
    return flow
  }

  #expire (now: number): void {
    for (const [key, f] of this.#flows) {
      if (now - f.lastSeen < this.#options.flowTimeout) continue
      this.#close(f)
      this.#flows.delete(key)
    }
  }

  #close (f: Flow): void {
    try {
      f.upstream.close()
    } catch {
      // not bound yet
    }
  }
}
