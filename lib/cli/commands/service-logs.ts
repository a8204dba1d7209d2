/**
 * `mesh service logs [-f] [--tail N] SERVICE`: the service's log stream
 * (written by agents: fields task, name, node, stream, line), printed as
 * `nginx1.3.<task id 12>@node2    | line`, prefixes padded to align.
 * -f follows with XREAD BLOCK on a second connection until SIGINT/SIGTERM,
 * waiting out a registry outage (registry-session.ts retryUnreachable).
 */
import type Redis from 'ioredis'
import { findService } from '../../service/lookup'
import { intValue } from '../../service/values'
import { shortId } from '../../util/ids'
import { bool, cliConfig, parseFlags, str, type CommandSpec } from '../flags'
import { retryUnreachable, withSession, type Session } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'service logs',
  usage: '[OPTIONS] SERVICE',
  options: {
    follow: { type: 'boolean', short: 'f', description: 'Follow log output' },
    tail: { type: 'string', short: 'n', value: 'N', description: 'Number of lines to show from the end of the logs ("all" for every line)', default: 'all' },
    'no-task-ids': { type: 'boolean', description: 'Do not include task IDs in output' }
  },
  positionals: { min: 1, max: 1, what: 'service name' }
}

type Entry = [id: string, fields: string[]]

export class LogPrinter {
  #width = 0
  readonly #out: NodeJS.WritableStream
  readonly #ids: boolean

  constructor (out: NodeJS.WritableStream, taskIds = true) {
    this.#out = out
    this.#ids = taskIds
  }

  prefix (fields: Record<string, string>): string {
    const name = fields.name ?? '?'
    const id = fields.task !== undefined && this.#ids ? `.${shortId(fields.task)}` : ''
    return `${name}${id}@${fields.node ?? '?'}`
  }

  print (entries: Entry[]): void {
    const rows = entries.map(([, flat]) => {
      const f: Record<string, string> = {}
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1]
      return { prefix: this.prefix(f), line: f.line ?? '' }
    })
    for (const r of rows) this.#width = Math.max(this.#width, r.prefix.length)
    let text = ''
    for (const r of rows) text += `${r.prefix.padEnd(this.#width)}    | ${r.line}\n`
    if (text !== '') this.#out.write(text)
  }
}

/** Tails `key` until SIGINT/SIGTERM; a registry that goes away meanwhile is waited for (one line each way). */
async function follow (session: Session, reader: Redis, key: string, from: string, printer: LogPrinter, blockMs: number): Promise<void> {
  let last = from
  const ac = new AbortController()
  const stop = (): void => { ac.abort(); reader.disconnect() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    while (!ac.signal.aborted) {
      let res: Array<[string, Entry[]]> | null
      try {
        res = await retryUnreachable(session, async () =>
          await reader.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', key, last) as Array<[string, Entry[]]> | null, { signal: ac.signal })
      } catch (err) {
        if (ac.signal.aborted) return
        throw err
      }
      if (res === null) continue
      const entries = res[0][1]
      if (entries.length === 0) continue
      printer.print(entries)
      last = entries[entries.length - 1][0]
    }
  } finally {
    process.removeListener('SIGINT', stop)
    process.removeListener('SIGTERM', stop)
  }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const { values, positionals } = parsed
  const config = cliConfig(values)
  const tailText = str(values, 'tail')
  const tail = tailText === undefined || tailText === 'all' ? null : intValue(tailText, '--tail', 0)
  const printer = new LogPrinter(process.stdout, !bool(values, 'no-task-ids'))
  return await withSession(config, async (session) => {
    const snap = await session.store.snapshot()
    const spec = findService(snap, positionals[0])
    const key = session.store.keys.logs(spec.name)
    const redis = session.store.redis
    let entries: Entry[]
    if (tail === null) {
      entries = await redis.xrange(key, '-', '+') as Entry[]
    } else if (tail === 0) {
      entries = []
    } else {
      entries = (await redis.xrevrange(key, '+', '-', 'COUNT', tail) as Entry[]).reverse()
    }
    printer.print(entries)
    if (!bool(values, 'follow')) return 0
    const lastId = entries.length > 0 ? entries[entries.length - 1][0]
      : ((await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Entry[])[0]?.[0] ?? '0-0'
    const reader = await session.newRedis('mesh-cli-logs')
    await follow(session, reader, key, lastId, printer, config.registry.blockTimeout)
    return 0
  })
}
