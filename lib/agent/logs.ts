/**
 * Ships task output lines to the per-service log stream:
 * XADD <prefix>logs:<service> MAXLEN ~ tasks.logMaxLen * task <id> name <svc.slot>
 * node <node name> stream stdout|stderr line <text>
 * (the fields `mesh service logs` reads). Lines are batched into one
 * pipeline per tick; while Redis is away at most MAX_PENDING lines wait, the
 * oldest are dropped (and that is said once).
 */
import type Redis from 'ioredis'
import type { Keys } from '../registry/keys'
import type { Logger } from '../util/log'

const MAX_PENDING = 10_000
const MAX_LINE = 8192

export interface LogLine {
  service: string
  task: string
  name: string
  stream: 'stdout' | 'stderr'
  line: string
}

export class LogShipper {
  readonly #redis: Redis
  readonly #keys: Keys
  readonly #node: string
  readonly #maxLen: number
  readonly #log: Logger
  #pending: LogLine[] = []
  #scheduled = false
  #flushing: Promise<void> | null = null

  constructor (redis: Redis, keys: Keys, nodeName: string, maxLen: number, log: Logger) {
    this.#redis = redis
    this.#keys = keys
    this.#node = nodeName
    this.#maxLen = maxLen
    this.#log = log
  }

  push (entry: LogLine): void {
    if (entry.line.length > MAX_LINE) entry.line = entry.line.slice(0, MAX_LINE)
    this.#pending.push(entry)
    if (this.#pending.length > MAX_PENDING) {
      this.#pending.splice(0, this.#pending.length - MAX_PENDING)
      this.#log.once('logs-dropped', 'warn', 'task output is arriving faster than Redis takes it (or Redis is away): dropping the oldest lines')
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => { this.#scheduled = false; void this.flush() })
    }
  }

  async flush (): Promise<void> {
    if (this.#flushing !== null) {
      await this.#flushing
      if (this.#pending.length === 0) return
    }
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    const pipe = this.#redis.pipeline()
    for (const e of batch) {
      pipe.xadd(this.#keys.logs(e.service), 'MAXLEN', '~', this.#maxLen, '*',
        'task', e.task, 'name', e.name, 'node', this.#node, 'stream', e.stream, 'line', e.line)
    }
    this.#flushing = pipe.exec().then((res) => {
      const failed = res?.find(([err]) => err !== null)
      if (failed !== undefined) this.#log.once('logs-xadd', 'warn', `task output line refused by Redis: ${String(failed[0])}`)
      this.#log.reset('logs-failed')
    }).catch((err: Error) => {
      this.#pending = batch.concat(this.#pending).slice(-MAX_PENDING)
      this.#log.once('logs-failed', 'warn', `task output cannot be written to Redis (${err.message}); keeping up to ${MAX_PENDING} lines`)
      setTimeout(() => { void this.flush() }, 1000).unref()
    }).finally(() => { this.#flushing = null })
    await this.#flushing
  }
}
