/**
 * Load generation: wrk when installed (pinned like the backends), else
 * autocannon when it is installed as a devDependency. Every run is bounded by
 * its duration (and wrk's own --timeout per request).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run, tools } from './procs'

export interface LoadOptions {
  url: string
  connections: number
  /** Whole seconds (wrk's resolution). */
  seconds: number
  /** Send `Connection: close`: one TCP connection per request. */
  close: boolean
  cpu?: string
  threads?: number
}

export interface LoadResult {
  requests: number
  seconds: number
  rps: number
  /** Microseconds. */
  p50: number
  p99: number
  max: number
  /** Socket errors + timeouts + non-2xx/3xx answers. */
  errors: number
  errorDetail: string
  tool: 'wrk' | 'autocannon'
}

const WRK_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`

let luaPath: string | null = null

function luaScript (): string {
  if (luaPath === null) {
    const dir = mkdtempSync(path.join(tmpdir(), 'routemesh-bench-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    luaPath = path.join(dir, 'report.lua')
    writeFileSync(luaPath, WRK_LUA)
  }
  return luaPath
}

export const loadTool = (): 'wrk' | 'autocannon' | null => {
  if (tools.wrk !== null) return 'wrk'
  try { require.resolve('autocannon'); return 'autocannon' } catch { return null }
}

export async function runLoad (o: LoadOptions): Promise<LoadResult> {
  const tool = loadTool()
  if (tool === 'wrk') return runWrk(o)
  if (tool === 'autocannon') return runAutocannon(o)
  throw new Error('no load generator: install wrk (apt-get install wrk), or `npm i -D autocannon` where wrk is unavailable')
}

async function runWrk (o: LoadOptions): Promise<LoadResult> {
  const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${Math.max(1, Math.round(o.seconds))}s`,
    '--timeout', '2s', '-s', luaScript()]
  if (o.close) args.push('-H', 'Connection: close')
  args.push(o.url)
  const out = await run(tools.wrk as string, args, { cpu: o.cpu, timeoutMs: (o.seconds + 15) * 1000 })
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '))
  if (line === undefined) throw new Error(`wrk printed no summary:\n${out}`)
  const r = JSON.parse(line.slice(8)) as Record<string, number>
  const seconds = r.duration / 1e6
  const errors = r.connect + r.read + r.write + r.status + r.timeout
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    p50: r.p50,
    p99: r.p99,
    max: r.max,
    errors,
    errorDetail: errors === 0 ? '' : `connect ${r.connect}, read ${r.read}, write ${r.write}, status ${r.status}, timeout ${r.timeout}`,
    tool: 'wrk'
  }
}

interface AutocannonResult {
  requests: { total: number }
  latency: { p50: number, p99: number, max: number }
  errors: number
  timeouts: number
  non2xx: number
  duration: number
}

async function runAutocannon (o: LoadOptions): Promise<LoadResult> {
  // Runs in this process (not pinned): weaker isolation than wrk; noted in the output.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as (opts: object) => Promise<AutocannonResult>
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    timeout: 2,
    headers: o.close ? { connection: 'close' } : {}
  })
  const errors = r.errors + r.timeouts + r.non2xx
  return {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50 * 1000,
    p99: r.latency.p99 * 1000,
    max: r.latency.max * 1000,
    errors,
    errorDetail: errors === 0 ? '' : `errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}`,
    tool: 'autocannon'
  }
}
