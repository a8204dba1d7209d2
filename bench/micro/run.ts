/**
 * Runs every bench/micro/*.bench.ts (compiled) in its own process, pinned to
 * CPU 0 when taskset exists, and checks the flatness target of issue 5.
 *
 *   npm run bench:micro [-- --only lookup,headers]
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from '../common/args'
import { fmt, saveResults, table, verdictTable, type Verdict } from '../common/format'
import { ROOT } from '../common/mesh'
import { run } from '../common/procs'
import type { Result } from './harness'

const args = parseArgs()
const ONLY = args.has('only') ? new Set(args.get('only', '').split(',')) : null

/** routemesh L7 keep-alive CPU us/request from the newest e2e result, if any. */
function latestE2eCost (): { us: number, file: string } | null {
  const dir = path.join(ROOT, 'bench', 'results')
  let files: string[]
  try { files = readdirSync(dir).filter((f) => f.endsWith('-e2e.json')).sort() } catch { return null }
  for (const f of files.reverse()) {
    try {
      const data = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { rows: Array<{ name: string, layer: string, mode: string, cpuUsPerReq?: number }> }
      const row = data.rows.find((r) => r.name === 'routemesh' && r.layer === 'L7' && r.mode === 'keep-alive' && r.cpuUsPerReq !== undefined)
      if (row?.cpuUsPerReq !== undefined) return { us: row.cpuUsPerReq, file: f }
    } catch { /* unreadable: try an older one */ }
  }
  return null
}

async function main (): Promise<void> {
  const started = new Date().toISOString()
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.bench.js') && (ONLY === null || ONLY.has(f.replace('.bench.js', '')))).sort()
  if (files.length === 0) {
    process.stdout.write('micro: no bench files found in dist/bench/micro (build first: npx tsc -p .)\n')
    return
  }
  const results: Result[] = []
  const failures: string[] = []
  for (const f of files) {
    process.stderr.write(`-- micro ${f} ...\n`)
    try {
      const out = await run(process.execPath, [path.join(__dirname, f)], { cpu: '0', timeoutMs: 300_000 })
      for (const line of out.split('\n')) if (line.startsWith('BENCHJSON ')) results.push(JSON.parse(line.slice(10)) as Result)
    } catch (err) {
      failures.push(`${f}: ${(err as Error).message.split('\n').slice(-3).join(' | ')}`)
    }
  }

  process.stdout.write(`\nmicro benches  ${started}  node ${process.version}\n\n`)
  process.stdout.write(table(['bench', 'case', 'ns/op', 'ops/s'], results.map((r) => [
    r.file, r.name, r.nsPerOp >= 1e6 ? `${fmt(r.nsPerOp / 1e6, 3)} ms` : fmt(r.nsPerOp, r.nsPerOp < 100 ? 2 : 0), fmt(r.opsPerSec, 0)
  ])) + '\n')
  for (const f of failures) process.stdout.write(`  note: ${f}\n`)

  // Flatness: the extra cost of routing at 100k endpoints, relative to the whole per-request cost.
  const verdicts: Verdict[] = []
  const at = (group: string, size: number): Result | undefined => results.find((r) => r.group === group && r.size === size)
  const small = at('lookup+pick', 10)
  const big = at('lookup+pick', 100_000)
  if (small === undefined || big === undefined) {
    verdicts.push({ target: 'per-request cost flat 10 -> 100k endpoints', kind: 'target', value: '-', limit: '<= +10%', status: 'SKIP', note: 'lookup bench did not run' })
  } else {
    const deltaNs = big.nsPerOp - small.nsPerOp
    const e2e = latestE2eCost()
    if (e2e !== null) {
      const growth = deltaNs / (e2e.us * 1000)
      verdicts.push({
        target: 'per-request cost flat 10 -> 100k endpoints',
        kind: 'target',
        value: `+${(growth * 100).toFixed(3)}% (+${fmt(deltaNs, 1)} ns on ${fmt(e2e.us, 1)} us/req)`,
        limit: '<= +10%',
        status: growth <= 0.10 ? 'PASS' : 'FAIL',
        note: `per-request CPU from ${e2e.file}`
      })
    }
    verdicts.push({
      target: 'lookup + pick alone, 100k vs 10 endpoints',
      kind: 'info',
      value: `${fmt(big.nsPerOp / small.nsPerOp, 2)}x (${fmt(small.nsPerOp, 1)} -> ${fmt(big.nsPerOp, 1)} ns)`,
      limit: 'report',
      status: 'PASS'
    })
  }
  for (const size of [1000, 10_000]) {
    const one = at('rebuild-one', size)
    verdicts.push({
      target: `table rebuild after one change, ${size} endpoints`,
      kind: 'info',
      value: one === undefined ? '-' : `${fmt(one.nsPerOp / 1e6, 2)} ms`,
      limit: 'report (well under the 50 ms propagation budget)',
      status: one === undefined ? 'SKIP' : 'PASS'
    })
  }
  process.stdout.write('\ntargets (issue 5)\n\n' + verdictTable(verdicts) + '\n')
  const file = saveResults('micro', { kind: 'micro', started, node: process.version, results, failures, verdicts })
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`)
  if (failures.length > 0) process.exitCode = 1
}

main().catch((err: Error) => {
  process.stderr.write(`bench:micro failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
