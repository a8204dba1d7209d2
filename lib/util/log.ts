/**
 * Operator log lines: one line each, to stderr, `ts level [scope] message`.
 * Debug output is namespaced and silent by default (NODE_DEBUG=mesh:proxy).
 */
import { debuglog } from 'node:util'

export type DebugFn = (msg: string, ...args: unknown[]) => void

export interface Logger {
  info: (msg: string) => void
  warn: (msg: string) => void
  error: (msg: string) => void
  /** Logs `msg` once per `key` until `reset(key)`; for conditions that persist. */
  once: (key: string, level: 'info' | 'warn' | 'error', msg: string) => void
  reset: (key: string) => boolean
  debug: DebugFn
}

export function createLogger (scope: string): Logger {
  const seen = new Set<string>()
  const write = (level: string, msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${level} [${scope}] ${msg}\n`)
  }
  return {
    info: (msg) => write('info', msg),
    warn: (msg) => write('warn', msg),
    error: (msg) => write('error', msg),
    once: (key, level, msg) => {
      if (seen.has(key)) return
      seen.add(key)
      write(level, msg)
    },
    reset: (key) => seen.delete(key),
    debug: debuglog(`mesh:${scope}`) as DebugFn
  }
}
