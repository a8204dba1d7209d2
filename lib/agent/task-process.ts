/**
 * One task's process: spawned in its own process group (so a stop reaches
 * whatever it forks), stdout/stderr split into lines, readiness = its port
 * accepts a TCP connection, stop = SIGTERM to the group, SIGKILL after the
 * grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'

export type Outcome =
  | { kind: 'exit', code: number | null, signal: NodeJS.Signals | null }
  | { kind: 'error', message: string }

export interface TaskProcessOptions {
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
  host: string
  port: number
  onLine: (stream: 'stdout' | 'stderr', line: string) => void
}

const READY_POLL_MS = 100
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function accepts (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect({ host, port })
    const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
    s.setTimeout(1000, () => { done(false) })
    s.once('connect', () => { done(true) })
    s.once('error', () => { done(false) })
  })
}

/** The error text `service ps` shows for how a task ended. */
export function describeOutcome (o: Outcome): string {
  if (o.kind === 'error') return o.message
  if (o.signal !== null) return `task: killed by signal ${o.signal}`
  return o.code === 0 ? '' : `task: non-zero exit (${String(o.code)})`
}

export class TaskProcess {
  pid = 0
  exited: Outcome | null = null
  /** Resolves with how the process ended (or could not start). */
  readonly done: Promise<Outcome>
  readonly #options: TaskProcessOptions
  #resolve: (o: Outcome) => void = () => {}
  #stopping = false

  constructor (options: TaskProcessOptions) {
    this.#options = options
    this.done = new Promise((resolve) => { this.#resolve = resolve })
  }

  /** Spawns; false (and `done` resolved) when it could not start. */
  start (): boolean {
    const o = this.#options
    let child: ChildProcess
    try {
      child = spawn(o.file, o.args, { env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      this.#finish({ kind: 'error', message: (err as Error).message })
      return false
    }
    child.once('error', (err) => {
      // A spawn failure (ENOENT, EACCES) gives 'error' and never 'exit'.
      if (child.pid === undefined) this.#finish({ kind: 'error', message: err.message })
    })
    child.once('exit', (code, signal) => { this.#finish({ kind: 'exit', code, signal }) })
    if (child.pid === undefined) return false
    this.pid = child.pid
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: child[stream]!, crlfDelay: Infinity })
      rl.on('line', (line) => { o.onLine(stream, line) })
    }
    return true
  }

  /** Resolves true once the port accepts a connection, false if the process ended or is stopping first. */
  async waitReady (): Promise<boolean> {
    while (this.exited === null && !this.#stopping) {
      if (await accepts(this.#options.host, this.#options.port)) return this.exited === null
      await sleep(READY_POLL_MS)
    }
    return false
  }

  /** drainDelay, then SIGTERM to the process group, SIGKILL after `grace`. */
  async stop (drainDelay: number, grace: number): Promise<Outcome> {
    this.#stopping = true
    if (this.exited !== null) return this.exited
    if (drainDelay > 0) await Promise.race([sleep(drainDelay), this.done])
    if (this.exited === null) {
      this.#signal('SIGTERM')
      const timer = setTimeout(() => { this.#signal('SIGKILL') }, grace)
      await this.done
      clearTimeout(timer)
    }
    this.#signal('SIGKILL') // leftovers of its group, if any
    return this.exited as unknown as Outcome
  }

  #signal (sig: NodeJS.Signals): void {
    if (this.pid <= 0) return
    try {
      process.kill(-this.pid, sig)
    } catch {
      // gone already
    }
  }

  #finish (o: Outcome): void {
    if (this.exited !== null) return
    this.exited = o
    this.#resolve(o)
  }
}
