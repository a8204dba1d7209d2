/**
 * The per-request routing path at 10, 1k and 100k endpoints: port entry ->
 * route (Host lookup) -> round-robin pick over the precomputed healthy array.
 * The health filter runs when the table is built and when an endpoint flips
 * (Balancer.refresh), not per request; its cost is listed separately.
 *
 *   node dist/bench/micro/lookup.bench.js
 */
import { TableBuilder } from '../../lib/table/table-builder'
import type { RoutingTable } from '../../lib/table/routing-table'
import { clusterState, POOL } from './fixtures'
import { runCases, type Case } from './harness'

const SIZES = [10, 1000, 100_000]
const cases: Case[] = []

function tableWith (endpoints: number): RoutingTable {
  // One service; every 10th endpoint unhealthy so the build's health filter has work.
  return new TableBuilder(POOL).build(clusterState(1, endpoints, { withCheck: true, unhealthyEvery: 10 }))
}

for (const n of SIZES) {
  const table = tableWith(n)
  const host = 'web.example.com'
  cases.push({
    name: `lookup + pick, ${n} endpoints`,
    group: 'lookup+pick',
    size: n,
    fn: () => {
      const entry = table.ports.get(30000)
      const route = entry === undefined ? null : entry.lookup(host)
      const ep = route === null ? null : route.balancer.pick()
      // Touch the endpoint as the forwarder does (its address and counters), so cache misses count.
      return ep === null ? 0 : ep.port + ep.consecutiveFailures
    }
  })
}

for (const n of SIZES) {
  const table = tableWith(n)
  const balancer = table.ports.get(30000)?.lookup(undefined)?.balancer
  if (balancer === undefined) throw new Error('no route built')
  cases.push({ name: `health flip (Balancer.refresh), ${n} endpoints`, group: 'refresh', size: n, fn: () => { balancer.refresh(); return balancer.available } })
}

// Host-named services sharing one port (exact and wildcard names).
for (const routes of [10, 1000]) {
  const table = new TableBuilder(POOL).build(clusterState(routes, 3, {
    samePort: true,
    hosts: (i) => i % 2 === 0 ? [`s${i}.example.com`] : [`*.w${i}.example.com`]
  }))
  const exact = `s${routes - 2}.example.com`
  const wild = `api.w${routes - 1}.example.com:30000`
  cases.push({ name: `Host lookup (exact) + pick, ${routes} hosts on one port`, group: 'host-exact', size: routes, fn: () => table.ports.get(30000)?.lookup(exact)?.balancer.pick() })
  cases.push({ name: `Host lookup (wildcard) + pick, ${routes} hosts on one port`, group: 'host-wildcard', size: routes, fn: () => table.ports.get(30000)?.lookup(wild)?.balancer.pick() })
}

runCases('lookup', cases)
