/**
 * `mesh service rm SERVICE...`: in one write, each service record, its static
 * endpoints and their health go; its scheduled tasks get desired = 'remove'
 * so agents stop them (the agent/scheduler deletes them afterwards).
 * The service's log stream is dropped after the write; agents append a
 * line only while the registry holds the service it came from (agent/logs.ts),
 * so the last lines of its stopping tasks do not re-create the stream.
 *
 * As docker: the services found are removed (their names printed), each
 * name not found is reported on its own error line, and then the command
 * exits 1.
 */
import { MeshError, isMeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import type { ServiceSpec } from '../../registry/types'
import { findService, tasksOf } from '../../service/lookup'
import { writeChecked } from '../../service/write'
import { EXIT_FAILED } from '../exit-codes'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { printError } from '../main'
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
      const missing: MeshError[] = []
      for (const ref of parsed.positionals) {
        try {
          const s = findService(snap, ref)
          specs.set(s.id, s)
        } catch (err) {
          if (!isMeshError(err, 'MESH_ERR_SERVICE_NOT_FOUND')) throw err
          missing.push(err)
        }
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
      return { ops, result: { removed: [...specs.values()], missing } }
    })
    if (result.removed.length > 0) await session.store.redis.del(...result.removed.map((s) => session.store.keys.logs(s.name)))
    for (const s of result.removed) process.stdout.write(`${s.name}\n`)
    for (const err of result.missing) printError(err)
    return result.missing.length > 0 ? EXIT_FAILED : 0
  })
}
