/**
 * `mesh cert rm NAME...`: removes certificates, in one write. As docker's
 * rm: the certificates that can go are removed (their names printed); each
 * name not found, and each certificate a service names with --cert
 * (naming those services), is reported on its own error line, and then the
 * command exits 1. The cluster's ticket keys stay.
 */
import { servicesUsing } from '../../cert/cert-info'
import { findCert } from '../../cert/cert-write'
import { isMeshError, MeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import { writeChecked } from '../../service/write'
import { EXIT_FAILED } from '../exit-codes'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { printError } from '../main'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'cert rm',
  usage: 'NAME [NAME...]',
  description: 'Remove one or more certificates. One that a service names with --cert is refused: update the service first.',
  options: {},
  positionals: { min: 1, max: 100, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  return await withSession(config, async (session) => {
    const { result } = await writeChecked(session.store, (snap) => {
      const removed = new Set<string>()
      const refused: MeshError[] = []
      for (const name of parsed.positionals) {
        try {
          findCert(snap, name)
        } catch (err) {
          if (!isMeshError(err, 'MESH_ERR_CERT_NOT_FOUND')) throw err
          refused.push(err)
          continue
        }
        const users = servicesUsing(snap.services.values(), name)
        if (users.length > 0) {
          const which = users.length === 1 ? `service ${users[0]}` : `services ${users.join(', ')}`
          refused.push(new MeshError('MESH_ERR_CERT_IN_USE',
            `certificate ${name} is in use by ${which} (--cert); give ${users.length === 1 ? 'it' : 'them'} another first (mesh service update ${users[0]} --cert OTHER, or --cert '')`))
          continue
        }
        removed.add(name)
      }
      const ops: WriteOp[] = [...removed].map((name) => ({ type: 'cert' as const, id: name, value: null }))
      return { ops, result: { removed: [...removed], refused } }
    })
    for (const name of result.removed) process.stdout.write(`${name}\n`)
    for (const err of result.refused) printError(err)
    return result.refused.length > 0 ? EXIT_FAILED : 0
  })
}
