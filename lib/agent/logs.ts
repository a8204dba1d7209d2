/**
 * Ships task output lines to the per-service log stream
 * `<prefix>logs:<service>` (fields task, name, node, stream, line: what
 * `mesh service logs` reads), MAXLEN ~ tasks.logMaxLen.
 *
 * Lines are batched: one script call per service per tick. The script
 * appends only while the registry still holds the service the lines came
 * from (same name and id): `service rm` deletes the stream after its write,
 * and the last lines of the stopping tasks, arriving later, must not
 * re-create it (nor land in a new service of the same name). A registry
 * without an epoch (flushed, being restored) is an outage: the lines wait.
 *
 * While Redis is away at most MAX_PENDING lines wait (the oldest are
 * dropped, said once) and one retry timer runs, however many lines arrive.
 */
import type Redis from 'ioredis'
import type { Keys } from '../registry/keys'
import type { Logger } from '../util/log'

const MAX_PENDING = 10_000
const MAX_LINE = 8192
/** Lines per script call: keeps each call short for Redis. */
const CHUNK = 256
const RETRY_MS = 1000

/**
 * KEYS: log stream (the only key it writes: a script's declared keys are
 * checked as written to, and a worker may only read the epoch and services)
 * ARGV: epoch key, services hash, service name, service id, maxlen, node,
 *       then (task, name, stream, line) per line
 * Returns the lines appended, 0 when the service is gone (dropped), -1 when the registry has no epoch (retry).
 */
const APPEND = `
if redis.call('EXISTS', ARGV[1]) == 0 then return -1 end
local spec = redis.call('HGET', ARGV[2], ARGV[3])
if not spec then return 0 end
local ok, rec = pcall(cjson.decode, spec)
if not ok or type(rec) ~= 'table' or rec.id ~= ARGV[4] then return 0 end
local n = 0
for i = 7, #ARGV, 4 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'task', ARGV[i], 'name', ARGV[i + 1], 'node', ARGV[6], 'stream', ARGV[i + 2], 'line', ARGV[i + 3])
  n = n + 1
end
return n
`

export interface LogLine {
  service: string
  /** The service's id: lines of a removed service are dropped, not appended to a successor of the same name. */
  serviceId: string
  task: string
  name: string
  stream: 'stdout' | 'stderr'
  line: string
}

type AppendFn = (...args: Array<string | number>) => Promise<number>

export class LogShipper {
  readonly #keys: Keys
  readonly #node: string
  readonly #maxLen: number
  readonly #log: Logger
  readonly #append: AppendFn
  #pending: LogLine[] = []
  #scheduled = false
  #retry: NodeJS.Timeout | null = null
  #flushing: Promise<void> | null = null
  /** Flushes started (one per tick with output, plus one per retry): what an outage costs. */
  attempts = 0

  constructor (redis: Redis, keys: Keys, nodeName: string, maxLen: number, log: Logger) {
    this.#keys = keys
    this.#node = nodeName
    this.#maxLen = maxLen
    this.#log = log
    redis.defineCommand('meshLogAppend', { numberOfKeys: 1, lua: APPEND })
    this.#append = (redis as unknown as Record<string, AppendFn>).meshLogAppend.bind(redis)
  }

  push (entry: LogLine): void {
    if (entry.line.length > MAX_LINE) entry.line = entry.line.slice(0, MAX_LINE)
    this.#pending.push(entry)
    if (this.#pending.length > MAX_PENDING) {
      this.#pending.splice(0, this.#pending.length - MAX_PENDING)
      this.#log.once('logs-dropped', 'warn', 'task output is arriving faster than Redis takes it (or Redis is away): dropping the oldest lines')
    }
    // While a retry is pending the lines wait for it: one loop, not one per line.
    if (!this.#scheduled && this.#retry === null) {
      this.#scheduled = true
      setImmediate(() => { this.#scheduled = false; void this.flush() })
    }
  }

  /** Writes what is pending; never rejects (a failure keeps the lines and arms the one retry). */
  async flush (): Promise<void> {
    while (this.#flushing !== null) await this.#flushing
    if (this.#pending.length === 0) return
    if (this.#retry !== null) {
      clearTimeout(this.#retry)
      this.#retry = null
    }
    const batch = this.#pending
    this.#pending = []
    this.attempts++
    this.#flushing = this.#write(batch).finally(() => { this.#flushing = null })
    await this.#flushing
  }

  async #write (batch: LogLine[]): Promise<void> {
    const byService = new Map<string, LogLine[]>()
    for (const e of batch) {
      const key = `${e.service}\n${e.serviceId}`
      let list = byService.get(key)
      if (list === undefined) byService.set(key, list = [])
      list.push(e)
    }
    const unsent: LogLine[] = []
    let failure: Error | null = null
    for (const lines of byService.values()) {
      for (let i = 0; i < lines.length; i += CHUNK) {
        const chunk = lines.slice(i, i + CHUNK)
        if (failure !== null) { unsent.push(...chunk); continue }
        try {
          const n = await this.#appendChunk(chunk)
          if (n === -1) unsent.push(...chunk)
          else if (n === 0) this.#log.debug('dropped %d output lines of removed service %s (%s)', chunk.length, chunk[0].service, chunk[0].serviceId)
        } catch (err) {
          failure = err as Error
          unsent.push(...chunk)
        }
      }
    }
    if (unsent.length === 0) {
      this.#log.reset('logs-failed')
      return
    }
    this.#pending = unsent.concat(this.#pending).slice(-MAX_PENDING)
    const why = failure !== null ? failure.message : 'the registry is being restored'
    this.#log.once('logs-failed', 'warn', `task output cannot be written to Redis (${why}); keeping up to ${MAX_PENDING} lines`)
    this.#retry ??= setTimeout(() => { this.#retry = null; void this.flush() }, RETRY_MS)
    this.#retry.unref()
  }

  async #appendChunk (chunk: LogLine[]): Promise<number> {
    const first = chunk[0]
    const args: Array<string | number> = [this.#keys.logs(first.service), this.#keys.epoch, this.#keys.services,
      first.service, first.serviceId, this.#maxLen, this.#node]
    for (const e of chunk) args.push(e.task, e.name, e.stream, e.line)
    return await this.#append(...args)
  }
}
