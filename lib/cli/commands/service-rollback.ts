/**
 * `mesh service rollback NAME`: the previous spec becomes the current one
 * (version bumped, so the scheduler rolls tasks to it); the current spec
 * becomes `previous`, so a second rollback returns. Replicas stay as they are.
 */
import { MeshError } from '../../errors'
import type { ServiceSpec } from '../../registry/types'
import { findService } from '../../service/lookup'
import { checkPortConflicts } from '../../service/ports'
import { asPrevious } from '../../service/spec'
import { writeChecked } from '../../service/write'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { showProgress } from '../progress'
import { withSession } from '../registry-session'
import { WAIT_OPTIONS, waitOf } from '../service-options'

export const SPEC: CommandSpec = {
  name: 'service rollback',
  usage: '[OPTIONS] SERVICE',
  options: { ...WAIT_OPTIONS },
  positionals: { min: 1, max: 1, what: 'service name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const wait = waitOf(parsed.values)
  const ref = parsed.positionals[0]
  return await withSession(config, async (session) => {
    const { result } = await writeChecked(session.store, (snap) => {
      const cur = findService(snap, ref)
      if (cur.previous === null) {
        throw new MeshError('MESH_ERR_NO_PREVIOUS_SPEC', `service ${cur.name} has no previous spec to roll back to (it was never updated)`)
      }
      const next: ServiceSpec = {
        ...structuredClone(cur.previous),
        id: cur.id,
        name: cur.name,
        mode: cur.mode,
        replicas: cur.replicas,
        version: cur.version + 1,
        updateState: 'updating',
        updateMessage: 'manually requested rollback',
        createdAt: cur.createdAt,
        updatedAt: Date.now(),
        previous: asPrevious(cur)
      }
      checkPortConflicts(next, snap.services.values())
      return { ops: [{ type: 'service', id: next.name, value: next }], result: next }
    })
    process.stdout.write(`${result.name}\nrollback: manually requested rollback\n`)
    if (bool(parsed.values, 'detach') || (result.mode === 'replicated' && result.replicas === 0)) return 0
    return await showProgress(session, result, wait, result.updateState)
  })
}
