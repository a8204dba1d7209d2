/**
 * Runs the real `mesh` CLI and real node daemons as child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { request, type Agent } from 'node:http'
import { waitFor } from './wait'

export const CLI = join(__dirname, '..', '..', 'lib', 'cli', 'main.js')

export interface RunResult { code: number, stdout: string, stderr: string }

/** Runs `mesh ARGS` to completion against the registry at `redisUrl`. */
export async function mesh (args: string[], redisUrl: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  // --redis goes before a `--` (after it, everything is the service's command).
  const dash = args.indexOf('--')
  const argv = dash === -1 ? [...args, '--redis', redisUrl] : [...args.slice(0, dash), '--redis', redisUrl, ...args.slice(dash)]
  return await runMesh(argv, { env })
}

let scratch: string | null = null
/**
 * The directory a CLI runs in when the test names none: an empty one of this
 * test process's, never the checkout (a `mesh init` there would leave its
 * .mesh state and daemon for every later test run in the checkout).
 */
function scratchCwd (): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'mesh-cli-cwd-'))
  return scratch
}

/** Runs `mesh ARGS` to completion, as typed (no --redis added), in `cwd` (default: an empty scratch directory). */
export async function runMesh (args: string[], o: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    // NODE_OPTIONS: tap's own loaders are not for the CLI under test.
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd ?? scratchCwd(), env: { ...process.env, NODE_OPTIONS: '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) })
  })
}

/** `mesh ARGS` that must succeed. */
export async function meshOk (args: string[], redisUrl: string): Promise<string> {
  const r = await mesh(args, redisUrl)
  if (r.code !== 0) throw new Error(`mesh ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

/** Fast test timings: failures noticed in well under a second. */
export const FAST = [
  'registry.livenessInterval=200ms', 'registry.resyncInterval=2s', 'registry.blockTimeout=1s',
  'node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'redis.reconnectMaxDelay=200ms', 'node.listenRetry=200ms',
  'proxy.warmupRequests=0' // test/proxy/warmup.test.ts runs it; the rest start faster without
]

/** The admin token every test node gets (node.adminToken, through MESH_NODE_ADMIN_TOKEN): the dashboard and POST /debug/gc need it. */
export const ADMIN_TOKEN = 'test-admin-token'

export class MeshNode {
  readonly name: string
  readonly addr: string
  readonly proc: ChildProcess
  log = ''
  exited: Promise<number | null>

  constructor (name: string, addr: string, proc: ChildProcess) {
    this.name = name
    this.addr = addr
    this.proc = proc
    proc.stdout?.on('data', (c: Buffer) => { this.log += c.toString() })
    proc.stderr?.on('data', (c: Buffer) => { this.log += c.toString() })
    this.exited = new Promise((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
  }

  get admin (): string { return `${this.addr}:9180` }

  /**
   * Starts `mesh node start` and waits until its admin /healthz answers.
   * `o.nodeFlags` go to node itself (e.g. --expose-gc).
   */
  static async start (name: string, addr: string, redisUrl: string, extra: string[] = [], o: { nodeFlags?: string[] } = {}): Promise<MeshNode> {
    const set = FAST.flatMap((kv) => ['--set', kv])
    const proc = spawn(process.execPath, [...(o.nodeFlags ?? []), CLI, 'node', 'start', '--name', name, '--advertise', addr, '--admin', `${addr}:9180`, '--redis', redisUrl, ...set, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESH_NODE_ADMIN_TOKEN: ADMIN_TOKEN } })
    const node = new MeshNode(name, addr, proc)
    await waitFor(async () => (await httpGet(`http://${addr}:9180/healthz`)).status === 200, { timeout: 15_000, what: `node ${name} admin on ${addr}:9180 (log: ${node.log})` })
    return node
  }

  /** The daemon's resident memory now (MB, /proc). */
  rssMb (): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid as number}/status`, 'utf8'))
    return Number(m?.[1] ?? 0) / 1024
  }

  /** V8 heap used after a full GC (MB); the node must run with --expose-gc. */
  async heapAfterGc (): Promise<number> {
    const r = await httpGet(`http://${this.admin}/debug/gc`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    if (r.status !== 200) throw new Error(`POST /debug/gc answered ${r.status}: start the node with --expose-gc`)
    return (JSON.parse(r.body) as { heapUsed: number }).heapUsed / 1024 / 1024
  }

  async metrics (): Promise<string> {
    return (await httpGet(`http://${this.admin}/metrics`)).body
  }

  /** Value of one sample in /metrics, by name and a label substring (e.g. 'service="web"'). */
  async metric (name: string, labelPart = ''): Promise<number> {
    const text = await this.metrics()
    let sum = 0
    let found = false
    for (const line of text.split('\n')) {
      if (!line.startsWith(name) || line.startsWith('#')) continue
      const rest = line.slice(name.length)
      if (rest[0] !== '{' && rest[0] !== ' ') continue
      if (labelPart !== '' && !rest.includes(labelPart)) continue
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
      found = true
    }
    return found ? sum : NaN
  }

  /** Revision of the table the node serves. */
  async revision (): Promise<number> {
    return await this.metric('mesh_registry_revision')
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal)
    return await this.exited
  }
}

/** One GET of `path` on a keep-alive `agent`; resolves with the status, or -1 when the request failed. */
export async function statusOn (agent: Agent, host: string, port: number, path = '/'): Promise<number> {
  return await new Promise((resolve) => {
    const req = request({ host, port, path, agent, timeout: 5000 }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
      res.on('error', () => { resolve(-1) })
    })
    req.on('error', () => { resolve(-1) })
    req.on('timeout', () => { req.destroy() })
    req.end()
  })
}

export interface HttpResult { status: number, body: string, headers: Record<string, string | string[] | undefined> }

/** One plain GET (or other method) without keep-alive. */
export async function httpGet (url: string, options: { method?: string, headers?: Record<string, string>, body?: string, timeout?: number } = {}): Promise<HttpResult> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeout ?? 5000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, headers: res.headers }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`timeout: ${url}`)) })
    req.on('error', reject)
    req.end(options.body)
  })
}
