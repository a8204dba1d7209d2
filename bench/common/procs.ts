/**
 * Child processes of a bench run: spawned (pinned with taskset when present),
 * tracked by pid, and all ended on exit, SIGINT and SIGTERM. Also reads CPU
 * time and RSS of a process tree from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import net from 'node:net'

export interface Proc {
  name: string
  child: ChildProcess
  pid: number
  /** Last lines of stdout+stderr, for error messages. */
  tail: () => string
  exited: Promise<number | null>
  /** Exit code once exited, undefined while running. */
  exitCode: () => number | null | undefined
}

const live = new Set<Proc>()
let cleanupInstalled = false

function which (cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${cmd}`
    if (dir !== '' && existsSync(p)) return p
  }
  return null
}

export const tools = {
  taskset: which('taskset'),
  wrk: which('wrk'),
  nginx: which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null),
  haproxy: which('haproxy') ?? (existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : null),
  redis: which('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null)
}

export const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch { return 100 }
})()
const PAGE = (() => {
  try { return Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096 } catch { return 4096 }
})()

export const cpuCount = (): number => {
  try { return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length } catch { return 1 }
}

/** Kills every tracked child (and its descendants) now. Synchronous: safe in an 'exit' handler. */
export function killAll (): void {
  for (const p of live) {
    if (p.exitCode() !== undefined) continue
    for (const pid of [...descendants(p.pid), p.pid]) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
  }
  live.clear()
}

export function installCleanup (): void {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`)
      killAll()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? String(err)}\n`)
    killAll()
    process.exit(1)
  })
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${err instanceof Error ? err.stack : String(err)}\n`)
    killAll()
    process.exit(1)
  })
}

export interface StartOptions {
  /** CPU list for taskset (`0`, `1`, `0-1`); ignored when taskset is missing. */
  cpu?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export function startProc (name: string, cmd: string, args: string[], options: StartOptions = {}): Proc {
  installCleanup()
  let file = cmd
  let argv = args
  if (options.cpu !== undefined && tools.taskset !== null) {
    // taskset execs the command: the pid we get is the command's own.
    file = tools.taskset
    argv = ['-c', options.cpu, cmd, ...args]
  }
  const child = spawn(file, argv, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`)
  const lines: string[] = []
  const keep = (chunk: Buffer): void => {
    for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(l)
    if (lines.length > 40) lines.splice(0, lines.length - 40)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let code: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (c, sig) => { code = c ?? (sig !== null ? null : c); live.delete(proc); resolve(code ?? null) })
    child.on('error', (err) => { lines.push(String(err)); code = -1; live.delete(proc); resolve(-1) })
  })
  const proc: Proc = { name, child, pid: child.pid, tail: () => lines.join('\n'), exited, exitCode: () => code }
  live.add(proc)
  return proc
}

/** Ends one process we started (and its descendants): signal, wait, then SIGKILL. */
export async function stopProc (p: Proc, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
  if (p.exitCode() !== undefined) return
  const kids = descendants(p.pid)
  try { process.kill(p.pid, signal) } catch { /* gone */ }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref())
  if (await Promise.race([p.exited, timer]) === 'timeout') {
    try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
    await p.exited
  }
  for (const pid of kids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already exited with its parent */ }
  }
}

/** Runs a command to completion; rejects with its output when it exits non-zero. */
export function run (cmd: string, args: string[], options: StartOptions & { timeoutMs?: number } = {}): Promise<string> {
  const p = startProc(cmd, cmd, args, options)
  const timeout = options.timeoutMs ?? 60_000
  const out: Buffer[] = []
  p.child.stdout?.on('data', (c: Buffer) => out.push(c))
  const timer = setTimeout(() => { void stopProc(p, 'SIGKILL') }, timeout)
  return p.exited.then((code) => {
    clearTimeout(timer)
    const text = Buffer.concat(out).toString()
    if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(code)}:\n${p.tail()}`)
    return text
  })
}

function readStat (pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may hold spaces and parentheses: fields start after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/** Pids of every descendant of pid (children, grandchildren...). */
export function descendants (pid: number): number[] {
  const parentOf = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    const child = Number(name)
    if (!Number.isInteger(child)) continue
    const f = readStat(child)
    if (f !== null) parentOf.set(child, Number(f[1])) // after comm: state, ppid, ...
  }
  const out: number[] = []
  let frontier = [pid]
  while (frontier.length > 0) {
    const next: number[] = []
    for (const [child, parent] of parentOf) if (frontier.includes(parent)) next.push(child)
    out.push(...next)
    frontier = next
  }
  return out
}

export const tree = (pid: number): number[] => [pid, ...descendants(pid)]

/** utime + stime of the given pids, in microseconds. */
export function cpuMicros (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const f = readStat(pid)
    // utime and stime are fields 14 and 15 of /proc/PID/stat; f[0] is field 3.
    if (f !== null) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks * 1e6 / CLK_TCK
}

/** Resident set size of the given pids, in bytes. */
export function rssBytes (pids: number[]): number {
  let pages = 0
  for (const pid of pids) {
    try { pages += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) } catch { /* gone */ }
  }
  return pages * PAGE
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once host:port accepts a TCP connection; rejects after timeoutMs or when proc exits. */
export async function waitForPort (host: string, port: number, timeoutMs = 10_000, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
      s.setTimeout(500, () => { s.destroy(); resolve(false) })
    })
    if (ok) return
    if (proc !== undefined && proc.exitCode() !== undefined) {
      throw new Error(`${proc.name} exited (${String(proc.exitCode())}) before listening on ${host}:${port}:\n${proc.tail()}`)
    }
    if (Date.now() > deadline) throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms${proc !== undefined ? `:\n${proc.tail()}` : ''}`)
    await sleep(50)
  }
}

/** A port free on host right now (bound to 0 then released). */
export function freePort (host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0))
    })
  })
}

/** Throws when something already listens on host:port (a leftover process would be measured instead of ours). */
export async function assertFree (host: string, port: number): Promise<void> {
  const busy = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
    s.setTimeout(500, () => { s.destroy(); resolve(false) })
  })
  if (busy) throw new Error(`${host}:${port} is already in use by a process this run did not start; stop it (ss -ltnp | grep ${host}:${port}) and rerun`)
}

/**
 * Process time of one CPU since boot (user+nice+system), in microseconds, from
 * /proc/stat. irq/softirq are left out: packet processing done on that CPU
 * may be charged there rather than to the process that caused it.
 */
export function cpuBusyMicros (cpu: number): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
    if (line === undefined) return NaN
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2]) * 1e6 / CLK_TCK
  } catch {
    return NaN
  }
}

/** The 1-minute load average. */
export function loadAverage (): number {
  try { return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]) } catch { return NaN }
}
