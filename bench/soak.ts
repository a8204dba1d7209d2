/**
 * Soak: 1M requests through one node, RSS at 100k vs 1M requests, event-loop
 * delay under load, then endpoint churn (add and remove 10k endpoints) with
 * RSS before and after. Long: not part of `npm run bench`.
 *
 *   npm run bench:soak -- [--requests 1000000] [--checkpoint 100000] [--chunk 2]
 *                         [--max-seconds 300] [--churn 10000] [--churn-cycles 3]
 *
 * Every loop is bounded: load runs in wrk chunks of --chunk seconds until the
 * request count is reached or --max-seconds have passed.
 */
import path from 'node:path'
import type { WriteOp } from '../lib/registry/store'
import { nodeIdFor, staticTaskId } from '../lib/registry/ids'
import type { TaskRecord } from '../lib/registry/types'
import { parseArgs } from './common/args'
import { fmt, mb, ms, saveResults, table, verdictTable, type Verdict } from './common/format'
import { runLoad } from './common/load'
import { get, heapAfterGc, meshCli, meshMissing, startMeshNode, waitServing, ROOT } from './common/mesh'
import { assertFree, rssBytes, sleep, startProc, stopProc, tree, waitForPort, type Proc } from './common/procs'
import { openStore, startRedis } from './common/redis'

const args = parseArgs()
const REQUESTS = args.num('requests', 1_000_000)
const CHECKPOINT = args.num('checkpoint', 100_000)
const CHUNK = args.num('chunk', 2)
const MAX_SECONDS = args.num('max-seconds', 300)
const CHURN = args.num('churn', 10_000)
const CHURN_CYCLES = Math.max(2, args.num('churn-cycles', 3))
const CONNECTIONS = args.num('connections', 64)
const NODE = { name: 'soak', advertise: '127.0.0.80', admin: '127.0.0.80:9180' }
const BACKENDS = ['127.0.0.81:9001', '127.0.0.82:9001', '127.0.0.83:9001']
const PREFIX = 'mesh:'

interface LagSample { at: number, p99: number, max: number }

/** A prom-client metric by name suffix (a registry prefix may precede it); NaN when absent. */
function metricBySuffix (text: string, suffix: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const name = line.split(/[{ ]/)[0]
    if (name.endsWith(suffix)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return NaN
}

async function lag (requests: number): Promise<LagSample> {
  const text = (await get(`http://${NODE.admin}/metrics`, 5000)).body
  return {
    at: requests,
    p99: metricBySuffix(text, 'eventloop_lag_p99_seconds') * 1e6,
    max: metricBySuffix(text, 'eventloop_lag_max_seconds') * 1e6
  }
}

async function main (): Promise<void> {
  const missing = meshMissing()
  if (missing !== null) {
    process.stdout.write(`soak: skipped: ${missing}\n`)
    return
  }
  const started = new Date().toISOString()
  for (const b of BACKENDS) await assertFree(b.split(':')[0], Number(b.split(':')[1]))
  await assertFree(NODE.advertise, 8080)
  const backends = startProc('backends', process.execPath, [path.join(ROOT, 'dist/bench/backend/http.js'),
    ...BACKENDS.flatMap((b) => ['--listen', b])], { cpu: '1' })
  for (const b of BACKENDS) await waitForPort(b.split(':')[0], Number(b.split(':')[1]), 10_000, backends)
  const redis = await startRedis('1')
  const { client, store } = await openStore(redis.url, PREFIX)
  let node: Proc | null = null
  try {
    const eps = BACKENDS.flatMap((b) => ['--endpoint', b])
    await meshCli(['init', '--registry-only'], redis.url) // found the cluster (its epoch) alone: the bench starts its nodes itself
    await meshCli(['service', 'create', '--name', 'web', '--publish', '8080:80', ...eps], redis.url)
    await meshCli(['service', 'create', '--name', 'churn', '--publish', '8081:80', '--endpoint', BACKENDS[0]], redis.url)
    // --expose-gc: the churn leak check reads the heap after a full GC (POST /debug/gc).
    node = startMeshNode({ ...NODE, redisUrl: redis.url, cpu: '0', nodeFlags: ['--expose-gc'] })
    const url = `http://${NODE.advertise}:8080/`
    await waitForPort(NODE.advertise, 8080, 15_000, node)
    await waitServing(url, 15_000, node)
    const rssStart = rssBytes(tree(node.pid))

    // --- 1M requests, RSS at the checkpoint and at the end, event-loop lag per chunk.
    await lag(0) // prom-client resets its event-loop histogram on each scrape
    const lags: LagSample[] = []
    const deadline = Date.now() + MAX_SECONDS * 1000
    let total = 0
    let errors = 0
    let worstP99 = 0
    let rss100k = NaN
    let rssAtCheckpoint = NaN
    let elapsed = 0
    while (total < REQUESTS && Date.now() < deadline) {
      const r = await runLoad({ url, connections: CONNECTIONS, seconds: CHUNK, close: false, cpu: '1' })
      total += r.requests
      errors += r.errors
      elapsed += r.seconds
      worstP99 = Math.max(worstP99, r.p99)
      lags.push(await lag(total))
      if (Number.isNaN(rss100k) && total >= CHECKPOINT) { rss100k = rssBytes(tree(node.pid)); rssAtCheckpoint = total }
      process.stderr.write(`   ${total} requests, ${r.rps.toFixed(0)} req/s, p99 ${ms(r.p99)} ms, rss ${mb(rssBytes(tree(node.pid)))} MB\n`)
      if (node.exitCode() !== undefined) throw new Error(`node exited under load:\n${node.tail()}`)
    }
    const rss1M = rssBytes(tree(node.pid))
    const reached = total >= REQUESTS

    // --- Endpoint churn on service "churn": add CHURN endpoints, remove them, CHURN_CYCLES times.
    const snap = await store.snapshot()
    const churnSpec = snap.services.get('churn') ?? [...snap.services.values()].find((s) => s.name === 'churn')
    const tmpl = [...snap.tasks.values()].find((t) => churnSpec !== undefined && t.serviceId === churnSpec.id)
    if (churnSpec === undefined || tmpl === undefined) throw new Error('service "churn" or its endpoint is not in the registry')
    const nodeId = nodeIdFor(NODE.name)
    const waitServed = async (rev: number): Promise<void> => {
      const until = Date.now() + 30_000
      while (Date.now() < until) {
        if (((await store.servedRevisions([nodeId])).get(nodeId) ?? 0) >= rev) return
        await sleep(100)
      }
      throw new Error(`node did not report serving revision ${rev} within 30 s`)
    }
    await sleep(1000)
    const rssBeforeChurn = rssBytes(tree(node.pid))
    const heapBeforeChurn = await heapAfterGc(NODE.admin)
    const rssAfterCycle: number[] = []
    const heapAfterCycle: number[] = []
    let rssPeakChurn = 0
    const churnStart = Date.now()
    for (let cycle = 0; cycle < CHURN_CYCLES; cycle++) {
      const tasks: TaskRecord[] = []
      for (let i = 0; i < CHURN; i++) {
        // 127.0.1.0/24 .. : nothing listens there and no traffic is sent to "churn".
        const host = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`
        const port = 10000 + cycle
        tasks.push({ ...tmpl, id: staticTaskId(churnSpec.id, host, port), host, port, slot: i + 1 })
      }
      let rev = 0
      for (let i = 0; i < tasks.length; i += 500) {
        const ops: WriteOp[] = tasks.slice(i, i + 500).map((t) => ({ type: 'task', id: t.id, value: t }))
        rev = await store.write(ops)
      }
      await waitServed(rev)
      rssPeakChurn = Math.max(rssPeakChurn, rssBytes(tree(node.pid)))
      for (let i = 0; i < tasks.length; i += 500) {
        const ops: WriteOp[] = tasks.slice(i, i + 500).map((t) => ({ type: 'task', id: t.id, value: null }))
        rev = await store.write(ops)
      }
      await waitServed(rev)
      rssAfterCycle.push(rssBytes(tree(node.pid)))
      heapAfterCycle.push(await heapAfterGc(NODE.admin))
      process.stderr.write(`   churn cycle ${cycle + 1}: +${CHURN} / -${CHURN} endpoints, rss ${mb(rssBytes(tree(node.pid)))} MB\n`)
    }
    const churnSeconds = (Date.now() - churnStart) / 1000
    // Same state as before the churn: the table is back to 2 services; run a short load so both
    // readings are taken after traffic, then let it settle.
    await runLoad({ url, connections: CONNECTIONS, seconds: CHUNK, close: false, cpu: '1' })
    await sleep(1000)
    const rssAfterChurn = rssBytes(tree(node.pid))
    const heapAfterChurn = await heapAfterGc(NODE.admin)

    const growth1M = (rss1M - rss100k) / rss100k
    const growthChurn = (rssAfterChurn - rssBeforeChurn) / rssBeforeChurn
    // Leak check: the heap after a full GC, after the last cycle and a short load vs after the first cycle (a leak keeps growing).
    // RSS is reported too, but V8 gives memory back lazily: RSS across cycles moves by tens of MB either way.
    const growthCycles = (rssAfterChurn - rssAfterCycle[0]) / rssAfterCycle[0]
    const growthHeap = (heapAfterChurn - heapAfterCycle[0]) / heapAfterCycle[0]
    const maxLagP99 = Math.max(...lags.map((l) => l.p99).filter(Number.isFinite))
    const maxLag = Math.max(...lags.map((l) => l.max).filter(Number.isFinite))

    process.stdout.write(`\nsoak  ${started}  ${total} requests in ${fmt(elapsed, 0)} s (${fmt(total / elapsed, 0)} req/s), errors ${errors}, worst chunk p99 ${ms(worstP99)} ms\n\n`)
    process.stdout.write(table(['reading', 'RSS MB'], [
      ['after start', mb(rssStart)],
      [`after ${rssAtCheckpoint} requests`, mb(rss100k)],
      [`after ${total} requests`, mb(rss1M)],
      ['before churn', mb(rssBeforeChurn)],
      [`peak with ${CHURN} extra endpoints`, mb(rssPeakChurn)],
      ...rssAfterCycle.map((r, i) => [`after churn cycle ${i + 1}`, mb(r)]),
      [`after ${CHURN_CYCLES} churn cycles (${fmt(churnSeconds, 1)} s) + load`, mb(rssAfterChurn)]
    ]) + '\n')
    process.stdout.write(`\nV8 heap used after a full GC: before churn ${mb(heapBeforeChurn)} MB; after cycles ${heapAfterCycle.map(mb).join(' / ')} MB; after churn + load ${mb(heapAfterChurn)} MB\n`)
    process.stdout.write(`\nevent-loop delay under load (prom-client, per ${CHUNK}s chunk): worst p99 ${ms(maxLagP99)} ms, worst max ${ms(maxLag)} ms\n`)

    const verdicts: Verdict[] = [
      {
        target: `RSS after ${REQUESTS} requests vs after ${CHECKPOINT}`,
        kind: 'target',
        value: `${(growth1M * 100).toFixed(1)}% (${mb(rss100k)} -> ${mb(rss1M)} MB)`,
        limit: '<= +10%',
        status: !reached || Number.isNaN(growth1M) ? 'SKIP' : growth1M <= 0.10 ? 'PASS' : 'FAIL',
        note: reached ? undefined : `only ${total} requests within ${MAX_SECONDS} s`
      },
      {
        target: `heap after GC, churn cycle 1 -> after cycle ${CHURN_CYCLES} + load (${CHURN} endpoints each)`,
        kind: 'target',
        value: `${(growthHeap * 100).toFixed(1)}% (${mb(heapAfterCycle[0])} -> ${mb(heapAfterChurn)} MB)`,
        limit: '<= +10% (no growth)',
        status: growthHeap <= 0.10 ? 'PASS' : 'FAIL'
      },
      {
        target: `RSS over churn cycles 1 -> ${CHURN_CYCLES}`,
        kind: 'info',
        value: `${(growthCycles * 100).toFixed(1)}% (${mb(rssAfterCycle[0])} -> ${mb(rssAfterChurn)} MB)`,
        limit: 'report',
        status: 'PASS'
      },
      {
        target: 'RSS after churn vs before (high-water mark included)',
        kind: 'info',
        value: `${(growthChurn * 100).toFixed(1)}% (${mb(rssBeforeChurn)} -> ${mb(rssAfterChurn)} MB)`,
        limit: 'report',
        status: 'PASS'
      },
      { target: 'errors during the soak', kind: 'target', value: String(errors), limit: '0', status: errors === 0 ? 'PASS' : 'FAIL' },
      { target: 'event-loop delay p99 under load', kind: 'info', value: `${ms(maxLagP99)} ms`, limit: 'report', status: Number.isFinite(maxLagP99) ? 'PASS' : 'SKIP', note: Number.isFinite(maxLagP99) ? undefined : 'metric missing from /metrics' }
    ]
    process.stdout.write('\ntargets (issue 5)\n\n' + verdictTable(verdicts) + '\n')
    const file = saveResults('soak', {
      kind: 'soak',
      started,
      options: { requests: REQUESTS, checkpoint: CHECKPOINT, chunk: CHUNK, maxSeconds: MAX_SECONDS, churn: CHURN, churnCycles: CHURN_CYCLES, connections: CONNECTIONS },
      total, errors, elapsed,
      rss: { start: rssStart, checkpoint: rss100k, checkpointAt: rssAtCheckpoint, end: rss1M, beforeChurn: rssBeforeChurn, peakChurn: rssPeakChurn, afterCycle: rssAfterCycle, afterChurn: rssAfterChurn },
      heap: { beforeChurn: heapBeforeChurn, afterCycle: heapAfterCycle, afterChurn: heapAfterChurn },
      churnSeconds,
      lags,
      verdicts
    })
    process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`)
  } finally {
    if (node !== null) await stopProc(node)
    client.disconnect()
    await redis.stop()
    await stopProc(backends)
  }
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`bench:soak failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
