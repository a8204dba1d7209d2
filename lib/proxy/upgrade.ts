/**
 * WebSocket and other Upgrade requests, proxied with http-proxy (it pipes the
 * upgraded sockets both ways). Same route lookup and round robin as L7, and
 * the same retry rule: the TCP connection is made here first, so a failed
 * connect goes to the next endpoint before http-proxy (which would close the
 * client socket on any error) sees the request.
 */
import { Agent, type IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'
import type { PassiveHealth } from '../balancer/passive-health'
import type { Endpoint } from '../balancer/endpoint'
import type { PortEntry, Route } from '../table/routing-table'
import { classify } from './errors-map'
import type { Exchange } from './http1/exchange'

/**
 * The request as http-proxy reads it (an IncomingMessage's fields; our
 * parser made no IncomingMessage). Header names lower-cased, repeats joined
 * like Node joins them.
 */
function upgradeRequest (ex: Exchange, socket: Socket): IncomingMessage {
  const headers: Record<string, string> = {}
  const raw = ex.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    const prev = headers[name]
    if (prev === undefined) headers[name] = raw[i + 1]
    else if (name !== 'host') headers[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${raw[i + 1]}` // a repeated Host: the first counts
  }
  return {
    method: ex.method,
    url: ex.url,
    httpVersion: ex.httpVersion,
    httpVersionMajor: 1,
    httpVersionMinor: ex.versionMinor,
    headers,
    rawHeaders: raw,
    socket,
    connection: socket
  } as unknown as IncomingMessage
}

function reject (socket: Duplex, status: number, reason: string, body: string): void {
  if (!socket.writable) return
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
}

/** Hands http-proxy the connection already made to the endpoint. */
class ConnectedAgent extends Agent {
  readonly #socket: Socket
  constructor (socket: Socket) {
    super({ keepAlive: false })
    this.#socket = socket
  }

  override createConnection (): Socket {
    return this.#socket
  }
}

export interface UpgradeOptions {
  xForwarded: boolean
  connectTimeout: number
  maxTries: number
}

export class UpgradeProxy {
  readonly #proxy: httpProxy
  readonly #passive: PassiveHealth
  readonly #xForwarded: boolean
  readonly #connectTimeout: number
  readonly #maxTries: number

  constructor (passive: PassiveHealth, options: UpgradeOptions) {
    this.#passive = passive
    this.#xForwarded = options.xForwarded
    this.#connectTimeout = options.connectTimeout
    this.#maxTries = options.maxTries
    // xfwd off: http-proxy would append to the client's X-Forwarded-* (trusting them);
    // like plain requests, ours replace them (handle()).
    this.#proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, proxyTimeout: 0 })
    this.#proxy.on('error', (err, _req, socketOrRes) => {
      const ep = (_req as IncomingMessage & { meshEndpoint?: Endpoint }).meshEndpoint
      if (ep !== undefined && classify(err).passive) this.#passive.failure(ep, (err as { code?: string }).code ?? err.message)
      const socket = socketOrRes as Duplex
      if (typeof socket.end === 'function' && !('writeHead' in socket)) reject(socket, 502, 'Bad Gateway', `502 Bad Gateway: upgrade to ${ep?.address ?? 'endpoint'} failed\n`)
    })
  }

  handle (entry: PortEntry, ex: Exchange, socket: Socket, head: Buffer): void {
    socket.on('error', () => {})
    const req = upgradeRequest(ex, socket)
    const h = req.headers
    const host = h.host
    const route = entry.lookup(host)
    if (route === null) {
      reject(socket, 404, 'Not Found', `404 Not Found: no service for host "${host ?? ''}" on port ${entry.port}\n`)
      return
    }
    const ep = route.balancer.pick()
    if (ep === null) {
      route.stats.generated[5]++
      reject(socket, 503, 'Service Unavailable', route.unavailableBody)
      return
    }
    // Hop-by-hop headers that are not part of the upgrade itself (Connection/Upgrade stay).
    delete h['proxy-connection']
    delete h['proxy-authorization']
    delete h['keep-alive']
    delete h.te
    delete h.trailer
    if (this.#xForwarded) {
      h['x-forwarded-for'] = ex.remoteAddress
      h['x-forwarded-proto'] = 'http'
      delete h['x-forwarded-port']
      if (host !== undefined) h['x-forwarded-host'] = host
      else delete h['x-forwarded-host']
    } else {
      delete h['x-forwarded-for']
      delete h['x-forwarded-proto']
      delete h['x-forwarded-port']
      delete h['x-forwarded-host']
    }
    this.#dial(route, ep, 1, req, socket, head)
  }

  #dial (route: Route, ep: Endpoint, tries: number, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const up = connect({ host: ep.host, port: ep.port, noDelay: true })
    up.setTimeout(this.#connectTimeout)
    const fail = (err: Error & { code?: string }): void => {
      up.destroy()
      const c = classify(err)
      route.stats.upstreamErrors[c.kind]++
      this.#passive.failure(ep, err.code ?? err.message)
      if (socket.destroyed) return
      if (tries < this.#maxTries && tries < route.balancer.endpoints.length) {
        const next = route.balancer.pick()
        if (next !== null && next !== ep) {
          this.#dial(route, next, tries + 1, req, socket, head)
          return
        }
      }
      route.stats.generated[5]++
      reject(socket, c.status, c.status === 504 ? 'Gateway Timeout' : 'Bad Gateway', `${c.status} ${c.status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}: upgrade to ${ep.address} failed (${err.code ?? err.message})\n`)
    }
    const onTimeout = (): void => { fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })) }
    up.once('error', fail)
    up.once('timeout', onTimeout)
    up.once('connect', () => {
      up.off('error', fail)
      up.off('timeout', onTimeout)
      up.setTimeout(0)
      this.#passive.success(ep)
      ;(req as IncomingMessage & { meshEndpoint?: Endpoint }).meshEndpoint = ep
      ep.responses[1]++
      this.#proxy.ws(req, socket, head, { target: ep.origin, agent: new ConnectedAgent(up) })
    })
  }

  close (): void {
    this.#proxy.close()
  }
}
