/**
 * Routing-table build time at 1k and 10k endpoints (100 services): a cold
 * build (new builder), a no-op rebuild (same state: reconcile by key keeps
 * every object) and a rebuild after one endpoint was added.
 *
 *   node dist/bench/micro/rebuild.bench.js
 */
import { TableBuilder } from '../../lib/table/table-builder'
import { clusterState, endpoint, POOL } from './fixtures'
import { timeOnce } from './harness'
import { fmt, table } from '../common/format'

const rows: string[][] = []
for (const total of [1000, 10_000]) {
  const state = clusterState(100, total / 100, { withCheck: true, unhealthyEvery: 10 })
  const emit = (name: string, group: string, ms: number, rounds: number[]): void => {
    process.stdout.write(`BENCHJSON ${JSON.stringify({ file: 'rebuild', name, group, size: total, nsPerOp: ms * 1e6, opsPerSec: 1000 / ms, rounds })}\n`)
    rows.push([name, fmt(ms, 3)])
  }
  const cold = timeOnce(() => new TableBuilder(POOL).build(state), 11)
  emit(`cold build, ${total} endpoints`, 'build-cold', cold.ms, cold.rounds)

  const builder = new TableBuilder(POOL)
  builder.build(state)
  const noop = timeOnce(() => builder.build(state), 11)
  emit(`rebuild, nothing changed, ${total} endpoints`, 'rebuild-noop', noop.ms, noop.rounds)

  const svc = [...state.services.values()][0]
  let k = 0
  const one = timeOnce(() => {
    // Alternately add and remove one endpoint of the first service.
    const t = endpoint(svc, 1_000_000 + (k >> 1))
    if ((k++ & 1) === 0) state.tasks.set(t.id, t)
    else state.tasks.delete(t.id)
    state.rev++
    return builder.build(state)
  }, 15)
  emit(`rebuild, one endpoint changed, ${total} endpoints`, 'rebuild-one', one.ms, one.rounds)
}
process.stdout.write('\n' + table(['case', 'ms (median)'], rows) + '\n')
