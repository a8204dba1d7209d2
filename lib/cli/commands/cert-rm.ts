/**
 * `mesh cert rm NAME...`: removes certificates, in one write. As docker's
 * rm: the certificates that can go are removed (their names printed); each
 * name not found, and each certificate a service names with --cert
 * (naming those services), is reported on its own error line, and then the
 * command exits 1. The cluster's ticket keys stay.
 */
import { servicesUsing } from '../../cert/cert-info'
import { findCert } from '../../cert/cert-write'
import { MeshError } from '../../errors'
import type { CommandSpec } from '../flags'
import { refusalOf, runRemove } from '../remove-command'

export const SPEC: CommandSpec = {
  name: 'cert rm',
  usage: 'NAME [NAME...]',
  description: 'Remove one or more certificates. One that a service names with --cert is refused: update the service first.',
  options: {},
  positionals: { min: 1, max: 100, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  return await runRemove(argv, SPEC, (snap, name) => {
    const found = refusalOf('MESH_ERR_CERT_NOT_FOUND', () => findCert(snap, name))
    if (found instanceof MeshError) return found
    const users = servicesUsing(snap.services.values(), name)
    if (users.length > 0) {
      const which = users.length === 1 ? `service ${users[0]}` : `services ${users.join(', ')}`
      return new MeshError('MESH_ERR_CERT_IN_USE',
        `certificate ${name} is in use by ${which} (--cert); give ${users.length === 1 ? 'it' : 'them'} another first (mesh service update ${users[0]} --cert OTHER, or --cert '')`)
    }
    return { name, ops: [{ type: 'cert', id: name, value: null }] }
  })
}
