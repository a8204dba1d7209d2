/**
 * Micro-bench harness: runs a function in timed batches after a warm-up and
 * reports the median ns/op of several rounds. Each bench file prints a table
 * and one `BENCHJSON {...}` line per case for bench/micro/run.ts.
 */
import { table, fmt } from '../common/format'

export interface Case {
  name: string
  /** One operation; its return value is folded into a sink so it cannot be optimised away. */
  fn: () => unknown
  /** Optional grouping key for comparisons (e.g. same op at other sizes). */
  group?: string
  size?: number
}

export interface Result { file: string, name: string, group?: string, size?: number, nsPerOp: number, opsPerSec: number, rounds: number[] }

let sink = 0
const fold = (v: unknown): void => {
  sink = (sink + (v === null || v === undefined ? 1 : typeof v === 'number' ? v : typeof v === 'object' ? 3 : 7)) | 0
}

type Loop = (fn: () => unknown, n: number) => unknown

/**
 * A fresh loop function per case: each gets its own call-site feedback, so one
 * case's function shapes do not make another's call megamorphic.
 */
function makeLoop (): Loop {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('fn', 'n', `
    let s = 0
    for (let i = 0; i < n; i++) { const r = fn(); s = (s + (typeof r === 'number' ? r : r == null ? 1 : 2)) | 0 }
    return s`) as Loop
}

function timeBatch (loop: Loop, fn: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint()
  fold(loop(fn, n))
  return Number(process.hrtime.bigint() - t0)
}

/**
 * Measures fn: calibrate a batch to ~roundMs, warm up for warmupMs, then
 * `rounds` rounds; median ns/op. Bounded: at most warmupMs + rounds * roundMs (+ one calibration).
 */
export function measure (fn: () => unknown, { rounds = 7, roundMs = 150, warmupMs = 300 } = {}): { nsPerOp: number, rounds: number[] } {
  const loop = makeLoop()
  let n = 1
  for (;;) {
    const ns = timeBatch(loop, fn, n)
    if (ns > 5e6 || n >= 1 << 30) { n = Math.max(1, Math.round(n * (roundMs * 1e6) / Math.max(ns, 1))); break }
    n *= 4
  }
  const warmEnd = Date.now() + warmupMs
  while (Date.now() < warmEnd) timeBatch(loop, fn, Math.max(1, n >> 2))
  const per: number[] = []
  for (let r = 0; r < rounds; r++) per.push(timeBatch(loop, fn, n) / n)
  const sorted = [...per].sort((a, b) => a - b)
  return { nsPerOp: sorted[Math.floor(sorted.length / 2)], rounds: per }
}

export function runCases (file: string, cases: Case[], opts?: Parameters<typeof measure>[1]): Result[] {
  const results: Result[] = []
  for (const c of cases) {
    const m = measure(c.fn, opts)
    const r: Result = { file, name: c.name, group: c.group, size: c.size, nsPerOp: m.nsPerOp, opsPerSec: 1e9 / m.nsPerOp, rounds: m.rounds.map((x) => Math.round(x * 100) / 100) }
    results.push(r)
    process.stdout.write(`BENCHJSON ${JSON.stringify(r)}\n`)
  }
  process.stdout.write('\n' + table(['case', 'ns/op', 'ops/s'], results.map((r) => [r.name, fmt(r.nsPerOp, r.nsPerOp < 100 ? 2 : 0), fmt(r.opsPerSec, 0)])) + '\n')
  if (sink === 0x7fffffff) process.stdout.write('\n') // keeps sink observable
  return results
}

/** Times one call (for slow operations such as a table build); median of `rounds` runs, in ms. */
export function timeOnce (fn: () => unknown, rounds = 5): { ms: number, rounds: number[] } {
  const per: number[] = []
  fold(fn()) // warm-up
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    fold(fn())
    per.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  const sorted = [...per].sort((a, b) => a - b)
  return { ms: sorted[Math.floor(sorted.length / 2)], rounds: per }
}
