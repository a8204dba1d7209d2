/**
 * Start-up JIT warm-up: drives requests through a private L7 listener to a
 * private backend, both on 127.0.0.1 ports the kernel picks, before the node
 * serves anyone. The first real clients then do not wait for V8 to compile
 * the forwarding path (what makes a cold Node proxy's p99 100+ ms). Nothing
 * reaches a real endpoint; the warm-up's counters are thrown away.
 */
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { Endpoint, type PoolOptions } from '../balancer/endpoint'
import { PassiveHealth } from '../balancer/passive-health'
import { Balancer } from '../balancer/round-robin'
import { RouteStats } from '../metrics/route-stats'
import { PortEntry, Route } from '../table/routing-table'
import { L7Listener, type L7Options } from './l7-listener'
import { UpgradeProxy } from './upgrade'

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
  const body = Buffer.from('warm\n')
  const backend = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  const backendPort = await listen(backend)
  const ep = new Endpoint('warmup', 'warmup', '127.0.0.1', backendPort, pool)
  const balancer = new Balancer()
  balancer.setEndpoints([ep])
  const route = new Route('warmup', 'warmup', 0, 80, 'http', [], balancer, new RouteStats('warmup', 0, 'http'), null, 0)
  const passive = new PassiveHealth({ failures: 1_000_000, ejectBase: 1, ejectMax: 1 })
  const upgrade = new UpgradeProxy(passive, { xForwarded: options.xForwarded, connectTimeout: options.connectTimeout, maxTries: 1 })
  const listener = new L7Listener(new PortEntry(0, 'http', [route]), options, { passive, maxTries: 1, draining: false, accessLog: null }, upgrade)
  const port = await listen(listener.server)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  let left = requests
  const one = async (): Promise<void> => {
    while (left > 0) {
      left--
      await new Promise<void>((resolve) => {
        // Plain GETs: the shape most traffic has. Warming with a mix (bodies,
        // odd headers) made the steady-state code measurably slower (wider
        // inline caches) for the common case; rarer shapes compile when they come.
        const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent }, (res) => {
          res.resume()
          res.once('end', resolve)
          res.once('error', () => { resolve() })
        })
        req.once('error', () => { resolve() })
        req.end()
      })
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, one))
  } finally {
    agent.destroy()
    listener.dropConnections()
    upgrade.close()
    await new Promise<void>((resolve) => { listener.server.close(() => { resolve() }) })
    await ep.close()
    backend.closeAllConnections()
    await new Promise<void>((resolve) => { backend.close(() => { resolve() }) })
  }
  return Date.now() - t0
}
