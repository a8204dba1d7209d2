/**
 * The supervisor of one task: a small process between the agent and the
 * task, so a task never outlives its node daemon by more than its stop
 * grace. Linux would kill a child with its parent only through
 * PR_SET_PDEATHSIG, which Node cannot set; a process that holds a channel
 * to the daemon and watches it close can (the way Erlang ports and
 * containerd's shims watch their parent).
 *
 *   node supervisor.js <stop grace ms> <file> [args...]
 *
 * Environment: the task's own (the agent's minimal one). fd 3: the IPC
 * channel to the agent. The task runs in a process group of its own
 * (detached) with stdin closed and the supervisor's stdout/stderr, which are
 * the agent's pipes, so its output reaches the agent directly.
 *
 * Messages to the agent: { t: 'pid', pid } once the task runs;
 * { t: 'exit', code, signal } when it ended; { t: 'error', message } when it
 * could not start. The supervisor exits right after either of the last two.
 *
 * Stop: SIGTERM (or SIGINT) to the supervisor, or the agent gone (the
 * channel closed: the daemon exited or was SIGKILLed; or our parent is no
 * longer the process that started us) = SIGTERM to the task's process
 * group, SIGKILL to it after the grace. Whatever is left of the group when
 * the task itself exits is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process'

/** How often the parent is checked besides the channel (a belt to its braces). */
const PARENT_POLL_MS = 500

export type SupervisorMessage =
  | { t: 'pid', pid: number }
  | { t: 'exit', code: number | null, signal: NodeJS.Signals | null }
  | { t: 'error', message: string }

function main (argv: string[]): void {
  const [graceArg, file, ...args] = argv
  const grace = Number(graceArg)
  const parent = process.ppid
  let child: ChildProcess | null = null
  let stopping = false
  let done = false

  const send = (msg: SupervisorMessage, then: () => void): void => {
    if (process.send === undefined || !process.connected) return then()
    process.send(msg, undefined, {}, () => { then() })
  }
  const group = (sig: NodeJS.Signals): void => {
    if (child?.pid === undefined) return
    try { process.kill(-child.pid, sig) } catch { /* the group is gone */ }
  }
  const finish = (msg: SupervisorMessage): void => {
    if (done) return
    done = true
    send(msg, () => { process.exit(0) })
  }
  const stop = (): void => {
    if (stopping) return
    stopping = true
    if (child === null) return finish({ t: 'exit', code: null, signal: 'SIGTERM' })
    group('SIGTERM')
    setTimeout(() => { group('SIGKILL') }, Number.isFinite(grace) && grace >= 0 ? grace : 10_000).unref()
  }

  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', stop)
  process.on('disconnect', stop)
  setInterval(() => { if (process.ppid !== parent) stop() }, PARENT_POLL_MS).unref()
  if (!process.connected) return stop()

  // The IPC variables are Node's plumbing for this process, not part of the task's environment.
  const env = { ...process.env }
  delete env.NODE_CHANNEL_FD
  delete env.NODE_CHANNEL_SERIALIZATION_MODE
  try {
    child = spawn(file, args, { env, detached: true, stdio: ['ignore', 'inherit', 'inherit'] })
  } catch (err) {
    return finish({ t: 'error', message: (err as Error).message })
  }
  const c = child
  c.once('error', (err) => {
    // A spawn failure (ENOENT, EACCES) gives 'error' and never 'exit'.
    if (c.pid === undefined) finish({ t: 'error', message: err.message })
  })
  c.once('exit', (code, signal) => {
    group('SIGKILL') // leftovers of its group, if any
    finish({ t: 'exit', code, signal })
  })
  if (c.pid !== undefined) send({ t: 'pid', pid: c.pid }, () => {})
}

if (require.main === module) main(process.argv.slice(2))
