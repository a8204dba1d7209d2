/**
 * `mesh node promote` and `mesh node demote`, as docker's: each named node
 * gets `role` (cluster/members.ts changeRoles), one line printed per node.
 * Refused with one line when this credential is not a manager's.
 */
import { changeRoles } from '../cluster/members'
import type { Role } from '../registry/acl'
import { notManager } from '../node/provision'
import { cliConfig, parseFlags, type CommandSpec } from './flags'
import { withSession } from './registry-session'

export function roleCommand (name: string, role: Role, done: (node: string) => string): { SPEC: CommandSpec, run: (argv: string[]) => Promise<number> } {
  const SPEC: CommandSpec = { name, usage: 'NODE [NODE...]', options: {}, positionals: { min: 1, max: 100, what: 'node name or id' } }
  const run = async (argv: string[]): Promise<number> => {
    const parsed = parseFlags(argv, SPEC)
    if (parsed === null) return 0
    const config = cliConfig(parsed.values)
    await withSession(config, async ({ store }) => {
      const nodes = await changeRoles(store, parsed.positionals, role).catch((err: Error) => {
        throw /NOPERM|may not do it/.test(err.message) ? notManager() : err
      })
      for (const n of nodes) process.stdout.write(`${done(n.name)}\n`)
    })
    return 0
  }
  return { SPEC, run }
}
