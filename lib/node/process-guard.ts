/**
 * The node daemon's process-level policy for errors nothing caught: a
 * promise rejected with no handler, or an exception thrown out of a timer or
 * event handler. Node's default (print and exit) would take every listener
 * of the node down for one bug in one subsystem; here the error is logged
 * with its stack and where it came from (once per distinct message, so a bug
 * on a hot path cannot flood the log), counted, and the process keeps
 * serving. Every path that can reject is meant to be awaited or handed to a
 * logging catch: this is the net under that rule, not a substitute for it.
 */
import { createLogger } from '../util/log'

const log = createLogger('process')

export interface ProcessGuard {
  /** Errors caught by the guard since it was installed. */
  readonly caught: number
  uninstall: () => void
}

function describe (err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`
  try {
    return `non-error value ${JSON.stringify(err)}`
  } catch {
    return `non-error value ${String(err)}`
  }
}

let installed: ProcessGuard | null = null

/** Installs the policy once per process (later calls return the same guard). `context` names the process in each line. */
export function installProcessGuard (context: string): ProcessGuard {
  if (installed !== null) return installed
  let caught = 0
  const report = (kind: string, err: unknown): void => {
    caught++
    const text = describe(err)
    const first = text.split('\n')[0]
    log.once(`${kind} ${first}`, 'error', `${context}: ${kind} (the node keeps serving; this is a bug, please report it): ${text}`)
  }
  const onRejection = (reason: unknown): void => { report('unhandled promise rejection', reason) }
  const onException = (err: unknown, origin: string): void => { report(origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception', err) }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  installed = {
    get caught () { return caught },
    uninstall: () => {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
      installed = null
    }
  }
  return installed
}
