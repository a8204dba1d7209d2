/**
 * routemesh as a user runs it: the built CLI (`dist/lib/cli/main.js`), a node
 * daemon per bench row, services created with `mesh service create`.
 */
import { existsSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { run, sleep, startProc, type Proc } from './procs'

/** Repository root (this file runs from dist/bench/common). */
export const ROOT = path.resolve(__dirname, '../../..')
export const MESH_CLI = path.join(ROOT, 'dist/lib/cli/main.js')

/** null when the CLI is built and has `node start`; else why the routemesh rows are skipped. */
export function meshMissing (): string | null {
  const need = ['lib/cli/main.ts', 'lib/cli/commands/node-start.ts', 'dist/lib/cli/main.js']
  const missing = need.filter((f) => !existsSync(path.join(ROOT, f)))
  if (missing.length > 0) return `routemesh CLI not built yet (missing ${missing.join(', ')}); run \`npx tsc -p .\` once it exists`
  return null
}

/** Runs one `mesh ...` CLI command; resolves with its stdout, rejects with its output on a non-zero exit. */
export function meshCli (args: string[], redisUrl: string, cpu?: string): Promise<string> {
  return run(process.execPath, [MESH_CLI, ...args, '--redis', redisUrl], { cpu, timeoutMs: 30_000 })
}

/** The admin token of the bench's nodes (node.adminToken, through the environment): POST /debug/gc needs it. */
export const ADMIN_TOKEN = 'bench-admin-token'

export interface NodeOptions {
  name: string
  advertise: string
  admin: string
  redisUrl: string
  workers?: number
  cpu?: string
  extra?: string[]
  /** Flags for node itself (before the script), e.g. --expose-gc. */
  nodeFlags?: string[]
}

export function startMeshNode (o: NodeOptions): Proc {
  const args = [...(o.nodeFlags ?? []), MESH_CLI, 'node', 'start', '--name', o.name, '--advertise', o.advertise, '--admin', o.admin, '--redis', o.redisUrl]
  if (o.workers !== undefined && o.workers !== 1) args.push('--workers', String(o.workers))
  if (o.extra !== undefined) args.push(...o.extra)
  return startProc(`mesh node ${o.name}`, process.execPath, args, { cpu: o.cpu, env: { ...process.env, MESH_NODE_ADMIN_TOKEN: ADMIN_TOKEN } })
}

export interface Reply { status: number, body: string }

/** POST /debug/gc on a node started with --expose-gc: V8 heap used after a full GC (bytes). */
export function heapAfterGc (admin: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${admin}/debug/gc`, { method: 'POST', agent: false, timeout: timeoutMs, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => {
        const heap = res.statusCode === 200 ? Number((JSON.parse(body) as { heapUsed?: number }).heapUsed) : NaN
        if (Number.isFinite(heap)) resolve(heap)
        else reject(new Error(`POST /debug/gc: ${res.statusCode ?? 0} ${body.trim()}`))
      })
    })
    req.on('timeout', () => req.destroy(new Error('POST /debug/gc timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** One GET on a fresh connection (agent: false), bounded by timeoutMs; an https: URL's certificate is not checked (the benches' are self-signed). */
export function get (url: string, timeoutMs = 2000, agent: http.Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https.get(url, { agent, timeout: timeoutMs, rejectUnauthorized: false }, onResponse) : http.get(url, { agent, timeout: timeoutMs }, onResponse))
    function onResponse (res: http.IncomingMessage): void {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    }
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
  })
}

/** Polls url (http: or https:) until it answers 2xx (within timeoutMs); rejects with the last error and the process output. */
export async function waitServing (url: string, timeoutMs: number, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (proc !== undefined && proc.exitCode() !== undefined) break
    try {
      const r = await get(url, 1000)
      if (r.status >= 200 && r.status < 300) return
      last = `status ${r.status}: ${r.body.trim()}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(50)
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})${proc !== undefined ? `\n${proc.name} output:\n${proc.tail()}` : ''}`)
}

/** Text of the node's /metrics. */
export async function scrape (admin: string): Promise<string> {
  return (await get(`http://${admin}/metrics`, 5000)).body
}

/** Value of the first sample of a metric (no labels needed), NaN when absent. */
export function metricValue (text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return NaN
}
