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
import { MeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import { findService, tasksOf } from '../../service/lookup'
import type { CommandSpec } from '../flags'
import { refusalOf, runRemove } from '../remove-command'

export const SPEC: CommandSpec = {
  name: 'service rm',
  usage: 'SERVICE [SERVICE...]',
  options: {},
  positionals: { min: 1, max: 100, what: 'service name' }
}

export async function run (argv: string[]): Promise<number> {
  return await runRemove(argv, SPEC, (snap, ref) => {
    const s = refusalOf('MESH_ERR_SERVICE_NOT_FOUND', () => findService(snap, ref))
    if (s instanceof MeshError) return s
    const ops: WriteOp[] = [{ type: 'service', id: s.name, value: null }]
    for (const t of tasksOf(snap, s)) {
      if (t.static) {
        ops.push({ type: 'task', id: t.id, value: null }, { type: 'health', id: t.id, value: null })
      } else if (t.desired !== 'remove') {
        ops.push({ type: 'task', id: t.id, value: { ...t, desired: 'remove' } })
      }
    }
    return { name: s.name, ops }
  }, async (session, removed) => { await session.store.redis.del(...removed.map((name) => session.store.keys.logs(name))) })
}
