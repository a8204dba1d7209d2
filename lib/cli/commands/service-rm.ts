/**
 * `mesh service rm NAME...`: in one write, each service record, its static
 * endpoints and their health go; its scheduled tasks get desired = 'remove'
 * so agents stop them (the agent/scheduler deletes them afterwards).
 * The service's log stream is dropped after the write; agents append a
 * line only while the registry holds the service it came from (agent/logs.ts),
 * so the last lines of its stopping tasks do not re-create the stream.
 */
import type { WriteOp } from '../../registry/store'
import type { ServiceSpec } from '../../registry/types'
import { findService, tasksOf } from '../../service/lookup'
import { writeChecked } from '../../service/write'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'service rm',
  usage: 'SERVICE [SERVICE...]',
  options: {},
  positionals: { min: 1, max: 100, what: 'service name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  return await withSession(config, async (session) => {
    const { result } = await writeChecked(session.store, (snap) => {
      const specs = new Map<string, ServiceSpec>()
      for (const ref of parsed.positionals) {
        const s = findService(snap, ref)
        specs.set(s.id, s)
      }
      const ops: WriteOp[] = []
      for (const s of specs.values()) {
        ops.push({ type: 'service', id: s.name, value: null })
        for (const t of tasksOf(snap, s)) {
          if (t.static) {
            ops.push({ type: 'task', id: t.id, value: null }, { type: 'health', id: t.id, value: null })
          } else if (t.desired !== 'remove') {
            ops.push({ type: 'task', id: t.id, value: { ...t, desired: 'remove' } })
          }
        }
      }
      return { ops, result: [...specs.values()] }
    })
    await session.store.redis.del(...result.map((s) => session.store.keys.logs(s.name)))
    for (const s of result) process.stdout.write(`${s.name}\n`)
    return 0
  })
}
