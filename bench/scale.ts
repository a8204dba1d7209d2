/**
 * Registry load and propagation as the cluster grows (issue 11, "Liveness
 * that scales"): N simulated nodes (bench/scale-nodes.ts: each with its own
 * Redis user, connections, feed, membership, prober and table; node1 the
 * manager, the rest workers; --per-process of them per child process) on
 * one private redis-server, with the default timings.
 *
 *   npm run bench:scale -- [--nodes 3,10,100,300] [--per-process 25] [--window 20] [--trials 20] [--settle 12]
 *
 * Per size, once every node serves the registry and a settle period passed:
 *   idle ops/s per node  Redis commands processed (INFO stats
 *                        total_commands_processed, commands inside scripts
 *                        included; the bench's own INFO calls taken out) over
 *                        --window seconds, divided by N; the busiest
 *                        commands from INFO commandstats beside it
 *   RSS per node         the child processes' RSS over N (shared runtime
 *                        amortised: several nodes per process)
 *   propagation          --trials service writes; per trial the time until
 *                        every node's table swapped to that revision
 * Targets: at most 10 idle ops/s per node at every size, flat within 20 %
 * from the smallest size to the largest.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { provisionNode } from '../lib/node/provision'
import { SCHEMA_VERSION, type ServiceSpec } from '../lib/registry/types'
import { newId } from '../lib/util/ids'
import { parseArgs } from './common/args'
import { fmt, saveResults, table, verdictTable, type Verdict } from './common/format'
import { rssBytes, sleep } from './common/procs'
import { openStore, startRedis } from './common/redis'
import type { SimNode } from './scale-nodes'

const args = parseArgs()
const SIZES = args.get('nodes', '3,10,100,300').split(',').map(Number)
const PER_PROCESS = args.num('per-process', 25)
const WINDOW_S = args.num('window', 20)
const TRIALS = args.num('trials', 20)
const SETTLE_S = args.num('settle', 12)
const PREFIX = 'mesh:'

interface SizeResult {
  nodes: number
  processes: number
  opsPerSec: number
  opsPerNode: number
  instantaneousMedian: number
  topCommands: Array<[string, number]>
  rssPerNodeMb: number
  redisRssMb: number
  propagation: { p50: number, p99: number, max: number, allP99: number, trials: number, missed: number }
}

function quantile (samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
}

function info (text: string, key: string): number {
  const m = new RegExp(`^${key}:(\\d+)`, 'm').exec(text)
  return m === null ? NaN : Number(m[1])
}

function commandCalls (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1], Number(m[2]))
  return out
}

function spec (name: string): ServiceSpec {
  const now = Date.now()
  const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 0 }
  return {
    v: SCHEMA_VERSION, id: newId(), name, mode: 'replicated', replicas: 0, ports: [], hosts: [], health: null, command: [], env: {},
    update, rollback: update, restart: { condition: 'any', delay: 0, maxAttempts: 0 }, stopGrace: 1000, version: 1,
    updateState: '', updateMessage: '', createdAt: now, updatedAt: now, previous: null
  }
}

async function runSize (n: number): Promise<SizeResult> {
  const redis = await startRedis()
  const { client, store } = await openStore(redis.url, PREFIX)
  const children: ChildProcess[] = []
  const dir = mkdtempSync(path.join(tmpdir(), 'mesh-scale-'))
  try {
    await store.createCluster()
    const nodes: SimNode[] = []
    for (let i = 1; i <= n; i++) {
      const role = i === 1 ? 'manager' : 'worker'
      const name = `sim${i}`
      const addr = `127.0.${Math.floor(i / 250) + 100}.${(i % 250) + 1}`
      const p = await provisionNode(store, { name, addr, role })
      nodes.push({ id: p.nodeId, name, addr, role, user: p.user, password: p.password })
    }
    const ready = new Set<string>()
    const swaps = new Map<number, Map<string, number>>()
    const rss: number[] = []
    let failure = ''
    const groups: SimNode[][] = []
    for (let i = 0; i < nodes.length; i += PER_PROCESS) groups.push(nodes.slice(i, i + PER_PROCESS))
    for (const [gi, group] of groups.entries()) {
      const file = path.join(dir, `group-${gi}.json`)
      writeFileSync(file, JSON.stringify({ nodes: group, set: {} }), { mode: 0o600 })
      const child = fork(path.join(__dirname, 'scale-nodes.js'), [redis.url, file], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
      let err = ''
      child.stderr?.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-2000) })
      child.on('message', (m: { type: string, id?: string, rev?: number, at?: number, rss?: number, message?: string }) => {
        if (m.type === 'ready' && m.id !== undefined) ready.add(m.id)
        else if (m.type === 'swap' && m.id !== undefined && m.rev !== undefined && m.at !== undefined) {
          let per = swaps.get(m.rev)
          if (per === undefined) swaps.set(m.rev, per = new Map())
          if (!per.has(m.id)) per.set(m.id, m.at)
        } else if (m.type === 'rss' && m.rss !== undefined) rss.push(m.rss)
        else if (m.type === 'error') failure = m.message ?? 'a child failed'
      })
      child.once('exit', (code) => { if (code !== 0 && code !== null) failure ||= `a node process exited ${code}: ${err}` })
      children.push(child)
    }
    const deadline = Date.now() + 60_000 + n * 200
    while (ready.size < n) {
      if (failure !== '') throw new Error(failure)
      if (Date.now() > deadline) throw new Error(`only ${ready.size} of ${n} nodes started`)
      await sleep(100)
    }
    // Every node registered (its status folded in by the leader) before anything is measured.
    while ([...(await store.snapshot()).nodes.values()].filter((x) => x.status === 'ready').length < n) {
      if (Date.now() > deadline) throw new Error('not every node reported ready')
      await sleep(200)
    }
    await sleep(SETTLE_S * 1000)

    // Idle load.
    const before = await client.info()
    const statsBefore = await client.info('commandstats')
    const t0 = performance.now()
    const inst: number[] = []
    for (let s = 0; s < WINDOW_S; s += 2) {
      await sleep(2000)
      inst.push(info(await client.info('stats'), 'instantaneous_ops_per_sec'))
    }
    const after = await client.info()
    const statsAfter = await client.info('commandstats')
    const seconds = (performance.now() - t0) / 1000
    // The bench's own commands in the window: the INFO calls (4 + one per sample).
    const own = 4 + inst.length
    const processed = info(after, 'total_commands_processed') - info(before, 'total_commands_processed') - own
    const callsBefore = commandCalls(statsBefore)
    const top = [...commandCalls(statsAfter)].map(([cmd, c]) => [cmd, (c - (callsBefore.get(cmd) ?? 0)) / seconds / n] as [string, number])
      .filter(([cmd, per]) => per > 0 && cmd !== 'info').sort((a, b) => b[1] - a[1]).slice(0, 6)

    for (const c of children) c.send({ type: 'rss' })
    while (rss.length < children.length) await sleep(50)
    const redisRss = rssBytes([redis.proc.pid])

    // Propagation: a service write, until every node's table swapped to it.
    const worst: number[] = []
    const all: number[] = []
    let missed = 0
    for (let i = 0; i < TRIALS; i++) {
      const writtenAt = Date.now()
      const rev = await store.write([{ type: 'service', id: `scale${i}`, value: spec(`scale${i}`) }])
      const until = Date.now() + 5000
      while ((swaps.get(rev)?.size ?? 0) < n && Date.now() < until) await sleep(2)
      const per = swaps.get(rev) ?? new Map<string, number>()
      if (per.size < n) missed++
      const lat = [...per.values()].map((at) => at - writtenAt)
      all.push(...lat)
      worst.push(Math.max(...lat))
      await sleep(50)
    }
    return {
      nodes: n,
      processes: children.length,
      opsPerSec: processed / seconds,
      opsPerNode: processed / seconds / n,
      instantaneousMedian: quantile(inst, 0.5),
      topCommands: top,
      rssPerNodeMb: rss.reduce((a, b) => a + b, 0) / n / 1048576,
      redisRssMb: redisRss / 1048576,
      propagation: { p50: quantile(worst, 0.5), p99: quantile(worst, 0.99), max: Math.max(...worst), allP99: quantile(all, 0.99), trials: TRIALS, missed }
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    await Promise.all(children.map(async (c) => await new Promise((resolve) => { if (c.exitCode !== null) resolve(null); else c.once('exit', resolve) })))
    client.disconnect()
    await redis.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const results: SizeResult[] = []
  for (const n of SIZES) {
    process.stdout.write(`scale: ${n} nodes...\n`)
    results.push(await runSize(n))
  }
  process.stdout.write('\n' + table(['nodes', 'procs', 'idle ops/s', 'ops/s per node', 'inst. ops/s (median)', 'RSS/node MB', 'redis RSS MB', 'prop. p50 ms', 'prop. p99 ms', 'max ms', 'missed'],
    results.map((r) => [String(r.nodes), String(r.processes), fmt(r.opsPerSec), fmt(r.opsPerNode, 2), fmt(r.instantaneousMedian, 0), fmt(r.rssPerNodeMb), fmt(r.redisRssMb),
      fmt(r.propagation.p50), fmt(r.propagation.p99), fmt(r.propagation.max), String(r.propagation.missed)])) + '\n')
  for (const r of results) process.stdout.write(`  ${r.nodes} nodes, busiest commands per node per second: ${r.topCommands.map(([c, v]) => `${c} ${fmt(v, 2)}`).join(', ')}\n`)
  const per = results.map((r) => r.opsPerNode)
  const spread = Math.max(...per) / Math.min(...per)
  const verdicts: Verdict[] = [
    { target: 'idle registry ops/s per node (every size)', value: fmt(Math.max(...per), 2), limit: '<= 10', status: Math.max(...per) <= 10 ? 'PASS' : 'FAIL', kind: 'target' },
    { target: `flat from ${SIZES[0]} to ${SIZES[SIZES.length - 1]} nodes (max/min per node)`, value: fmt(spread, 2), limit: '<= 1.20', status: spread <= 1.2 ? 'PASS' : 'FAIL', kind: 'target' },
    { target: 'a change on every node (p99 of the slowest node per write)', value: `${fmt(results[results.length - 1].propagation.p99)} ms at ${SIZES[SIZES.length - 1]}`, limit: '-', status: 'PASS', kind: 'info' }
  ]
  process.stdout.write('\n' + verdictTable(verdicts) + '\n')
  // As every bench here: PASS/FAIL lines are read, they do not change the exit code (only a crash or a failed set-up does).
  process.stdout.write(`results: ${saveResults('scale', { sizes: SIZES, perProcess: PER_PROCESS, windowS: WINDOW_S, results, verdicts })}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:scale failed: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 1
})
