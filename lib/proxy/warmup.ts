/**
 * Start-up JIT warm-up: drives requests through a private L7 listener to a
 * private backend, both on 127.0.0.1 ports the kernel picks, before the node
 * serves anyone. The first real clients then do not wait for V8 to compile
 * the forwarding path (what makes a cold Node proxy's p99 100+ ms). Nothing
 * reaches a real endpoint; the warm-up's counters are thrown away.
 *
 * Client and backend speak raw HTTP/1.1 on net sockets: only the code real
 * traffic runs gets compiled (Node's own http server and client would widen
 * the shared socket and stream code the L4 path runs too).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { Endpoint, type PoolOptions } from '../balancer/endpoint'
import { PassiveHealth } from '../balancer/passive-health'
import { Balancer } from '../balancer/round-robin'
import { RouteStats } from '../metrics/route-stats'
import { PortEntry, Route } from '../table/routing-table'
import { L7Listener, type L7Options } from './l7-listener'
import { ConnectionLimit } from './connection-limit'
import { TrustedProxies } from './trusted-proxies'

const REQUEST = 'GET / HTTP/1.1\r\nHost: warmup\r\nUser-Agent: routemesh-warmup\r\n\r\n'
const BODY = 'warm\n'
const RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`
const HEAD_END = Buffer.from('\r\n\r\n')

/** A backend that answers every request head it reads (the warm-up sends bodiless GETs only). */
function rawBackend (): Server {
  return createServer({ noDelay: true }, (socket) => {
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      let at = pending.indexOf(HEAD_END)
      while (at !== -1) {
        socket.write(RESPONSE)
        pending = pending.subarray(at + HEAD_END.length)
        at = pending.indexOf(HEAD_END)
      }
    })
    socket.on('error', () => {})
  })
}

/** One keep-alive client connection sending `count` requests one after another. */
async function rawClient (port: number, count: () => boolean): Promise<void> {
  const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve) => {
    let seen = ''
    const next = (): void => {
      if (!count()) { socket.end(); resolve(); return }
      socket.write(REQUEST)
    }
    socket.on('connect', next)
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1')
      // Each answer ends with the body: one request at a time, so one body = one answer.
      while (seen.includes(BODY)) {
        seen = seen.slice(seen.indexOf(BODY) + BODY.length)
        next()
      }
    })
    socket.on('error', () => { resolve() })
    socket.on('close', () => { resolve() })
  })
  socket.destroy()
}

async function listen (server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  return (server.address() as AddressInfo).port
}

/** Runs `requests` requests, `concurrency` at a time; resolves with the time taken (ms). */
export async function warmUp (requests: number, options: L7Options, pool: PoolOptions, concurrency = 16): Promise<number> {
  const t0 = Date.now()
  const backend = rawBackend()
  const backendPort = await listen(backend)
  const ep = new Endpoint('warmup', 'warmup', '127.0.0.1', backendPort, pool)
  const balancer = new Balancer()
  balancer.setEndpoints([ep])
  const route = new Route('warmup', 'warmup', 0, 80, 'http', [], balancer, new RouteStats('warmup', 0, 'http'), null, 0)
  const passive = new PassiveHealth({ failures: 1_000_000, fiveXx: 0, ejectBase: 1, ejectMax: 1 })
  const ctx = { passive, maxTries: 1, draining: false, accessLog: null, connectTimeout: options.connectTimeout, headersTimeout: options.headersTimeout, maxHeaderSize: options.maxHeaderSize, tunnels: new Set<never>() }
  const shared = { draining: false, limit: new ConnectionLimit(concurrency * 2), trusted: new TrustedProxies([]) }
  const listener = new L7Listener(new PortEntry(0, 'http', [route]), options, ctx, shared)
  const port = await listen(listener.server)
  let left = requests
  const take = (): boolean => left-- > 0
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => { await rawClient(port, take) }))
  } finally {
    listener.dropConnections()
    await new Promise<void>((resolve) => { listener.server.close(() => { resolve() }) })
    await ep.close()
    await new Promise<void>((resolve) => { backend.close(() => { resolve() }) })
  }
  return Date.now() - t0
}
