/**
 * One task's process, run under its own supervisor (supervisor.ts): the
 * agent spawns the supervisor, which spawns the task in a process group of
 * its own and kills that group when the daemon goes away, even by SIGKILL.
 * stdout/stderr are split into lines; readiness = the task's port accepts a
 * TCP connection; stop = SIGTERM to the group (through the supervisor),
 * SIGKILL after the grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { SupervisorMessage } from './supervisor'

export type Outcome =
  | { kind: 'exit', code: number | null, signal: NodeJS.Signals | null }
  | { kind: 'error', message: string }

export interface TaskProcessOptions {
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
  host: string
  port: number
  /** SIGTERM -> SIGKILL, also when the daemon dies. */
  grace: number
  onLine: (stream: 'stdout' | 'stderr', line: string) => void
}

export const SUPERVISOR = join(__dirname, 'supervisor.js')

/** How long past the grace the agent waits for the supervisor's word before it kills the group itself. */
const BACKSTOP_MS = 2000
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
  /** The task's pid (its process group id), 0 until it runs. */
  pid = 0
  exited: Outcome | null = null
  /** Resolves with how the process ended (or could not start). */
  readonly done: Promise<Outcome>
  readonly #options: TaskProcessOptions
  #resolve: (o: Outcome) => void = () => {}
  #supervisor: ChildProcess | null = null
  #stopping = false

  constructor (options: TaskProcessOptions) {
    this.#options = options
    this.done = new Promise((resolve) => { this.#resolve = resolve })
  }

  /** Spawns the supervisor and the task; resolves true once the task runs, false (and `done` resolved) when it could not start. */
  async start (): Promise<boolean> {
    const o = this.#options
    let sup: ChildProcess
    try {
      sup = spawn(process.execPath, [SUPERVISOR, String(o.grace), o.file, ...o.args],
        { env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' })
    } catch (err) {
      this.#finish({ kind: 'error', message: (err as Error).message })
      return false
    }
    this.#supervisor = sup
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: sup[stream]!, crlfDelay: Infinity })
      rl.on('line', (line) => { o.onLine(stream, line) })
    }
    const started = new Promise<boolean>((resolve) => {
      sup.on('message', (m: SupervisorMessage) => {
        if (m.t === 'pid') {
          this.pid = m.pid
          resolve(true)
        } else if (m.t === 'exit') {
          this.#finish({ kind: 'exit', code: m.code, signal: m.signal })
        } else if (m.t === 'error') {
          this.#finish({ kind: 'error', message: m.message })
        }
      })
      sup.once('error', (err) => { if (sup.pid === undefined) this.#finish({ kind: 'error', message: `task supervisor: ${err.message}` }) })
      sup.once('exit', (code, signal) => {
        // Its last message may still be in the channel: decide once the channel closed too.
        const decide = (): void => {
          if (this.exited !== null) return
          // Without its word the task may still run: it must not outlive a supervisor that died.
          this.#killGroup('SIGKILL')
          this.#finish({ kind: 'error', message: `task supervisor ended (${signal ?? `exit ${String(code)}`}) before the task` })
        }
        if (sup.connected) sup.once('disconnect', decide)
        else decide()
      })
      void this.done.then(() => { resolve(false) })
    })
    return await started
  }

  /** Resolves true once the port accepts a connection, false if the process ended or is stopping first. */
  async waitReady (): Promise<boolean> {
    while (this.exited === null && !this.#stopping) {
      if (await accepts(this.#options.host, this.#options.port)) return this.exited === null
      await sleep(READY_POLL_MS)
    }
    return false
  }

  /** drainDelay, then SIGTERM to the task's group, SIGKILL after the grace (the supervisor runs both). */
  async stop (drainDelay: number): Promise<Outcome> {
    this.#stopping = true
    if (this.exited !== null) return this.exited
    if (drainDelay > 0) await Promise.race([sleep(drainDelay), this.done])
    if (this.exited === null) {
      try { this.#supervisor?.kill('SIGTERM') } catch { /* gone: its exit handler finishes */ }
      const backstop = setTimeout(() => {
        this.#killGroup('SIGKILL')
        try { this.#supervisor?.kill('SIGKILL') } catch { /* gone */ }
      }, this.#options.grace + BACKSTOP_MS)
      await this.done
      clearTimeout(backstop)
    }
    return this.exited as unknown as Outcome
  }

  #killGroup (sig: NodeJS.Signals): void {
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
