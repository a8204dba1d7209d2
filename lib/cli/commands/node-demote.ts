/** `mesh node demote NODE...`, as `docker node demote`: Demote one or more nodes from manager in the cluster (cluster/members.ts changeRoles). */
import { changeRoles } from '../../cluster/members'
import { notManager } from '../../node/provision'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'node demote',
  usage: 'NODE [NODE...]',
  options: {},
  positionals: { min: 1, max: 100, what: 'node name or id' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  await withSession(config, async ({ store }) => {
    const nodes = await changeRoles(store, parsed.positionals, 'worker').catch((err: Error) => {
      throw /NOPERM|may not do it/.test(err.message) ? notManager() : err
    })
    for (const n of nodes) process.stdout.write(`Manager ${n.name} demoted in the cluster.\n`)
  })
  return 0
}
