/**
 * Docker's rm, for every `mesh ... rm NAME...`: in one checked write, what
 * can be removed is, each name that cannot (not found, in use) is reported
 * on stderr with its own error, the removed names are printed, and the exit
 * code is 1 when any name was refused.
 */
import { isMeshError, MeshError, type ErrorCode } from '../errors'
import type { Snapshot, WriteOp } from '../registry/store'
import { writeChecked } from '../service/write'
import { EXIT_FAILED } from './exit-codes'
import { cliConfig, parseFlags, type CommandSpec } from './flags'
import { printError } from './main'
import { withSession, type Session } from './registry-session'

/** The removal of one thing: its ops, and its name as printed (an id given resolves to the name). */
export interface Removal {
  name: string
  ops: WriteOp[]
}

/**
 * `one` plans the removal of what one argument names from the registry
 * read: a Removal, or a MeshError that refuses it (any other error ends the
 * command). Two arguments naming the same thing remove it once. `after`
 * runs once the write is done (housekeeping outside the registry's records).
 */
export async function runRemove (argv: string[], spec: CommandSpec, one: (snap: Snapshot, ref: string) => Removal | MeshError,
  after: (session: Session, removed: string[]) => Promise<void> = async () => {}): Promise<number> {
  const parsed = parseFlags(argv, spec)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  return await withSession(config, async (session) => {
    const { result } = await writeChecked(session.store, (snap) => {
      const ops: WriteOp[] = []
      const removed: string[] = []
      const refused: MeshError[] = []
      for (const ref of parsed.positionals) {
        const planned = one(snap, ref)
        if (planned instanceof MeshError) { refused.push(planned); continue }
        if (removed.includes(planned.name)) continue
        ops.push(...planned.ops)
        removed.push(planned.name)
      }
      return { ops, result: { removed, refused } }
    })
    if (result.removed.length > 0) await after(session, result.removed)
    for (const name of result.removed) process.stdout.write(`${name}\n`)
    for (const err of result.refused) printError(err)
    return result.refused.length > 0 ? EXIT_FAILED : 0
  })
}

/** `fn()`, or the MeshError of code `code` it threw (a refusal for runRemove); any other error is thrown on. */
export function refusalOf<T> (code: ErrorCode, fn: () => T): T | MeshError {
  try {
    return fn()
  } catch (err) {
    if (isMeshError(err, code)) return err
    throw err
  }
}
