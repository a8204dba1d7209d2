/**
 * A WebSocket upgrade, proxied on raw sockets: the request head goes to an
 * endpoint (same route lookup, round robin and connect-retry rule as plain
 * requests), the endpoint's answer is read with llhttp's response parser,
 * and then
 *   - 101 Switching Protocols: its head (hop-by-hop headers dropped, Upgrade
 *     kept) goes to the client and both sockets become a Tunnel;
 *   - anything else (a declined upgrade): it is relayed as a normal response,
 *     framed by the exchange like any other, and the connection closes.
 * The endpoint must answer within proxy.headersTimeout (504 otherwise).
 * Other Upgrade offers (h2c, ...) never come here: the listener serves them
 * as plain HTTP/1.1 requests.
 */
import { connect, type Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Endpoint } from '../balancer/endpoint'
import type { Route } from '../table/routing-table'
import { classify } from './errors-map'
import type { Exchange, Runner } from './http1/exchange'
import { HTTPParser, kOnBody, kOnHeaders, kOnHeadersComplete, kOnMessageComplete, type NativeParser } from './http1/llhttp'
import type { ForwardContext, RouteSource } from './l7-forward'
import { upgradeResponseHead, type ResponseInfo } from './response-headers'
import { sendError } from './responses'
import { Tunnel, type TunnelSet } from './tunnel'

export interface TunnelContext extends ForwardContext {
  connectTimeout: number
  /** How long the endpoint may take to answer the upgrade request (ms). */
  headersTimeout: number
  maxHeaderSize: number
  tunnels: TunnelSet
}

const responseInfo: ResponseInfo = { contentLength: -1 }

export class TunnelForward implements Runner {
  readonly #ex: Exchange
  readonly #source: RouteSource
  readonly #ctx: TunnelContext
  /** The request head for the endpoint, written once connected. */
  readonly #head: string
  readonly #host: string | null
  #route: Route | null = null
  #ep: Endpoint | null = null
  #tried: Endpoint[] = []
  #upstream: Socket | null = null
  #parser: NativeParser | null = null
  #headerBuf: string[] = []
  /** The 101 head for the client, once the endpoint switched. */
  #switchHead = ''
  #done = false

  constructor (ex: Exchange, source: RouteSource, ctx: TunnelContext, path: string, headers: string[], upgrade: string, host: string | null) {
    this.#ex = ex
    this.#source = source
    this.#ctx = ctx
    this.#host = host
    let head = `${ex.method} ${path} HTTP/1.1\r\n`
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
    this.#head = `${head}connection: upgrade\r\nupgrade: ${upgrade}\r\n\r\n`
  }

  run (): void {
    const route = this.#source.route(this.#host)
    if (route === null) {
      this.#done = true
      this.#source.noRoute(this.#ex, this.#host)
      return
    }
    this.#route = route
    const ep = route.balancer.pick()
    if (ep === null) {
      this.#fail(503, route.unavailableBody, 'MESH_ERR_NO_HEALTHY_ENDPOINT')
      return
    }
    this.#dial(ep)
  }

  cancel (): void {
    this.#done = true
    this.#upstream?.destroy()
    this.#freeParser()
  }

  #dial (ep: Endpoint): void {
    this.#ep = ep
    this.#tried.push(ep)
    const up = connect({ host: ep.host, port: ep.port, noDelay: true, allowHalfOpen: true })
    this.#upstream = up
    up.setTimeout(this.#ctx.connectTimeout)
    let connected = false
    up.on('error', (err: Error & { code?: string }) => { this.#upstreamFailed(up, err, connected) })
    up.once('timeout', () => {
      up.destroy(Object.assign(new Error(connected ? 'no answer to the upgrade request' : 'connect timeout'), { code: connected ? 'UND_ERR_HEADERS_TIMEOUT' : 'ETIMEDOUT' }))
    })
    up.once('connect', () => {
      connected = true
      up.setTimeout(this.#ctx.headersTimeout)
      up.write(this.#head, 'latin1')
      this.#readAnswer(up)
    })
  }

  #upstreamFailed (up: Socket, err: Error & { code?: string }, connected: boolean): void {
    if (up !== this.#upstream || this.#done) return
    this.#freeParser()
    const ep = this.#ep as Endpoint
    const route = this.#route as Route
    const c = classify(err)
    route.stats.upstreamErrors[c.kind]++
    if (c.passive) this.#ctx.passive.failure(ep, err.code ?? err.message)
    if (this.#ex.responseStarted) {
      this.#done = true
      this.#ex.abort()
      return
    }
    if (!connected && c.connectFailure && this.#tried.length < this.#ctx.maxTries) {
      for (let i = route.balancer.available; i > 0; i--) {
        const next = route.balancer.pick()
        if (next !== null && !this.#tried.includes(next)) {
          this.#dial(next)
          return
        }
      }
    }
    this.#fail(c.status, `${c.status} ${STATUS_CODES[c.status] ?? ''}: upgrade to service "${route.service}" endpoint ${ep.address} failed (${err.code ?? err.message})\n`,
      c.status === 504 ? 'MESH_ERR_UPSTREAM_TIMEOUT' : 'MESH_ERR_UPSTREAM')
  }

  /** Parses the endpoint's answer on `up`. */
  #readAnswer (up: Socket): void {
    const parser = new HTTPParser()
    parser.initialize(HTTPParser.RESPONSE, {}, this.#ctx.maxHeaderSize, 0)
    this.#parser = parser
    let switching = false
    parser[kOnHeaders] = (headers: string[]) => { for (const h of headers) this.#headerBuf.push(h) }
    parser[kOnHeadersComplete] = (_major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown, status: number, text: string) => {
      const raw = headers ?? this.#headerBuf
      if (status < 200 && status !== 101) return 0 // 1xx interim: not relayed
      switching = status === 101
      this.#answered(up, status, text, raw, switching)
      return 0
    }
    parser[kOnBody] = (chunk: Buffer) => {
      if (!this.#ex.write(chunk)) {
        up.pause()
        this.#ex.owner.socket.once('drain', () => { up.resume() })
      }
    }
    parser[kOnMessageComplete] = () => {
      if (switching) return
      this.#done = true
      this.#ex.end()
      up.destroy()
    }
    const onData = (chunk: Buffer): void => {
      const ret = parser.execute(chunk)
      if (typeof ret !== 'number') {
        up.destroy(Object.assign(new Error(`malformed answer to the upgrade request (${ret.code})`), { code: 'HPE_INVALID' }))
        return
      }
      if (switching) {
        up.off('data', onData)
        up.off('end', onEnd)
        this.#freeParser()
        this.#open(up, chunk.subarray(ret))
      }
    }
    const onEnd = (): void => {
      // A close-delimited body ends here.
      const ret = parser.finish() as unknown
      if (ret instanceof Error && !this.#ex.responseStarted) up.destroy(Object.assign(new Error('the endpoint closed before answering the upgrade request'), { code: 'UND_ERR_SOCKET' }))
      else if (!this.#done) { this.#done = true; this.#ex.end() }
    }
    up.on('data', onData)
    up.once('end', onEnd)
  }

  #answered (up: Socket, status: number, text: string, raw: string[], switching: boolean): void {
    const ep = this.#ep as Endpoint
    this.#ctx.passive.response(ep, status, (this.#route as Route).balancer)
    ep.responses[(status / 100) | 0]++
    up.setTimeout(0)
    const head = upgradeResponseHead(raw, switching, responseInfo)
    if (switching) {
      this.#switchHead = head
      return
    }
    this.#ex.keepAlive = false // the connection read nothing past the upgrade request: it closes after this answer
    this.#ex.respond(status, text !== '' ? text : STATUS_CODES[status] ?? '', head, responseInfo.contentLength)
    this.#log(status)
  }

  /** 101: the client gets the head, both sockets become a tunnel. */
  #open (up: Socket, upstreamHead: Buffer): void {
    this.#done = true
    const taken = this.#ex.switchProtocols(this.#switchHead)
    new Tunnel(taken.socket, up, taken.head, upstreamHead, this.#ctx.tunnels) // eslint-disable-line no-new
    this.#log(101)
  }

  #fail (status: number, body: string, code: string): void {
    this.#done = true
    const route = this.#route as Route
    route.stats.generated[(status / 100) | 0]++
    sendError(this.#ex, status, body, code, true)
    this.#log(status)
  }

  #log (status: number): void {
    const log = this.#ctx.accessLog
    if (log !== null) log.request(this.#ex, status, this.#route?.service ?? '-', this.#ep?.address ?? '-', (performance.now() - this.#ex.start) / 1000)
  }

  #freeParser (): void {
    const p = this.#parser
    if (p === null) return
    this.#parser = null
    setImmediate(closeParser, p) // not from inside its own callback
  }
}

function closeParser (p: NativeParser): void {
  p.close()
}
