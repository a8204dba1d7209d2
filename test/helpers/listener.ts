/**
 * A proxy listener built in the test process from a hand-made route, for
 * data-plane pieces the registry cannot describe yet (the way lib/proxy/
 * warmup.ts builds its private listener): real sockets, real backends,
 * the real listener classes; only the table comes from the test.
 */
import type { AddressInfo, Server } from 'node:net'
import type { Test } from 'tap'
import { Balancer } from '../../lib/balancer/round-robin'
import { Endpoint } from '../../lib/balancer/endpoint'
import { PassiveHealth } from '../../lib/balancer/passive-health'
import { RouteStats } from '../../lib/metrics/route-stats'
import { ConnectionLimit } from '../../lib/proxy/connection-limit'
import { L4Listener } from '../../lib/proxy/l4-listener'
import { L7Listener, type L7Options } from '../../lib/proxy/l7-listener'
import type { TlsPort } from '../../lib/proxy/tls/tls-front'
import { TrustedProxies } from '../../lib/proxy/trusted-proxies'
import { DEFAULT_ROUTE_OPTIONS, PortEntry, Route, type RouteOptions } from '../../lib/table/routing-table'

export const POOL = { connectTimeout: 2000, headersTimeout: 5000, bodyTimeout: 5000, keepAliveTimeout: 4000, connections: 64, maxHeaderSize: 16384, maxQueued: 100, queueTimeout: 5000 }

export const L7: L7Options = {
  clientHeadersTimeout: 10_000, clientIdleTimeout: 60_000, clientRequestTimeout: 300_000, clientSendTimeout: 60_000,
  connectTimeout: 2000, headersTimeout: 5000, maxHeaderSize: 16384, maxHeaders: 100, http2MaxStreams: 100, xForwarded: true, forwardedHeader: false
}

/** A route of one service over `addresses` (host:port), as the table builder would make it. */
export function route (service: string, port: number, addresses: string[], hosts: string[] = [], options: Partial<RouteOptions> = {}): Route {
  const eps = addresses.map((a, i) => {
    const colon = a.lastIndexOf(':')
    return new Endpoint(`${service}-${i}`, `${service}-${i}`, a.slice(0, colon), Number(a.slice(colon + 1)), POOL)
  })
  const b = new Balancer()
  b.setEndpoints(eps)
  return new Route(service, service, port, 80, 'http', hosts, b, new RouteStats(service, port, 'http'), null, 0, { ...DEFAULT_ROUTE_OPTIONS, ...options })
}

export async function listen (server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => { server.off('error', reject); resolve() })
  })
  return (server.address() as AddressInfo).port
}

/** An L7 listener (TLS when `tls` is given) on `host`, closed with the test; resolves with it and its port. */
export async function l7Listener (t: Test, host: string, routes: Route[], tls: TlsPort | null = null): Promise<{ listener: L7Listener, port: number }> {
  const passive = new PassiveHealth({ failures: 3, fiveXx: 0, ejectBase: 1000, ejectMax: 1000 })
  const ctx = { passive, maxTries: 3, draining: false, accessLog: null, connectTimeout: 2000, headersTimeout: 5000, maxHeaderSize: 16384, tunnels: new Set<never>() }
  const shared = { draining: false, limit: new ConnectionLimit(10_000), trusted: new TrustedProxies([]) }
  const listener = new L7Listener(new PortEntry(0, 'http', routes), L7, ctx, shared, tls)
  const port = await listen(listener.server, host)
  t.teardown(async () => {
    listener.dropConnections()
    await new Promise<void>((resolve) => { listener.server.close(() => { resolve() }) })
    for (const r of routes) for (const ep of r.balancer.endpoints) await ep.close()
  })
  return { listener, port }
}

/** An L4 listener (TLS passthrough by SNI when `bySni`) on `host`, closed with the test. */
export async function l4Listener (t: Test, host: string, routes: Route[], bySni = false): Promise<{ listener: L4Listener, port: number }> {
  const passive = new PassiveHealth({ failures: 3, fiveXx: 0, ejectBase: 1000, ejectMax: 1000 })
  const listener = new L4Listener(new PortEntry(0, 'tcp', routes), { connectTimeout: 2000, idleTimeout: 0, maxTries: 3 }, passive, new ConnectionLimit(10_000), new TrustedProxies([]), bySni)
  const port = await listen(listener.server, host)
  t.teardown(async () => {
    listener.dropConnections()
    await new Promise<void>((resolve) => { listener.server.close(() => { resolve() }) })
  })
  return { listener, port }
}
