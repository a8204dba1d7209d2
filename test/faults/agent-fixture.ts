/**
 * Real node daemons (`mesh node start`) for the control-plane fault tests:
 * the registry URL reaches them in MESH_REDIS_URL, never on the command line
 * (a daemon is started the way an operator with a password should start it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { CLI, httpGet, type RunResult } from '../helpers/mesh'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

export { CLI }

/** Timings for a cluster that notices failures in about a second. */
export const FAST = [
  'registry.livenessInterval=200ms', 'registry.resyncInterval=2s', 'registry.blockTimeout=1s',
  'node.heartbeatInterval=200ms', 'node.heartbeatTtl=2s', 'redis.reconnectMaxDelay=200ms', 'node.listenRetry=200ms',
  'scheduler.reconcileInterval=300ms', 'scheduler.leaseTtl=2s', 'tasks.restartDelay=200ms', 'proxy.warmupRequests=0'
]

export class Daemon {
  readonly name: string
  readonly addr: string
  readonly admin: string
  proc: ChildProcess
  log = ''
  exited: Promise<number | null>
  readonly #start: () => ChildProcess

  private constructor (name: string, addr: string, admin: string, start: () => ChildProcess) {
    this.name = name
    this.addr = addr
    this.admin = admin
    this.#start = start
    this.proc = start()
    this.exited = this.#watch()
  }

  #watch (): Promise<number | null> {
    const proc = this.proc
    proc.stdout?.on('data', (c: Buffer) => { this.log += c.toString() })
    proc.stderr?.on('data', (c: Buffer) => { this.log += c.toString() })
    return new Promise((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
  }

  get pid (): number { return this.proc.pid ?? 0 }

  /** `mesh node start`, URL in the environment; resolves once /healthz answers. */
  static async start (name: string, addr: string, redisUrl: string, o: { manager?: boolean, set?: string[] } = {}): Promise<Daemon> {
    const admin = `${addr}:${await freePort(addr)}`
    const args = [CLI, 'node', 'start', '--name', name, '--advertise', addr, '--admin', admin,
      ...[...FAST, ...(o.set ?? [])].flatMap((kv) => ['--set', kv]), ...(o.manager === true ? ['--manager'] : [])]
    const d = new Daemon(name, addr, admin, () => spawn(process.execPath, args,
      { env: { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'pipe'] }))
    await d.ready()
    return d
  }

  async ready (): Promise<void> {
    await waitFor(async () => (await httpGet(`http://${this.admin}/healthz`)).status === 200, { timeout: 15_000, what: `node ${this.name} admin on ${this.admin} (log: ${this.log})` })
  }

  /** Starts the daemon again (same name, address, flags), after it exited. */
  async restart (): Promise<void> {
    this.proc = this.#start()
    this.exited = this.#watch()
    await this.ready()
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal)
    return await this.exited
  }
}

/** `mesh ARGS` with the registry in MESH_REDIS_URL. */
export async function meshEnv (redisUrl: string, args: string[], cwd?: string): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) })
  })
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids whose parent is `ppid` (from /proc/<pid>/stat). */
export function childrenOf (ppid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name))
    } catch {
      // gone
    }
  }
  return out
}

export interface Answer { status: number, body: string, ms: number, error: string }

/** One request without keep-alive; never rejects (a failure is status 0 with the error). */
export async function call (url: string, method = 'GET', body?: string, timeout = 15_000): Promise<Answer> {
  const t0 = Date.now()
  return await new Promise((resolve) => {
    const req = request(url, { method, agent: false, timeout, headers: body === undefined ? {} : { 'content-type': 'text/plain' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text, ms: Date.now() - t0, error: '' }) })
      res.on('error', (err) => { resolve({ status: 0, body: text, ms: Date.now() - t0, error: err.message }) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', (err) => { resolve({ status: 0, body: '', ms: Date.now() - t0, error: err.message }) })
    req.end(body)
  })
}
