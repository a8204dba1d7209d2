/**
 * `mesh cert create NAME --cert FILE --key FILE`: stores a certificate
 * chain and its key in the registry as cluster certificate NAME (the nodes
 * load it within the propagation SLO). The files are checked first
 * (cert/cert-files.ts); the first certificate also creates the cluster's TLS
 * ticket keys, in the same write. Prints NAME.
 */
import { certRecord } from '../../cert/cert-write'
import { MeshError } from '../../errors'
import { runCertWrite } from '../cert-write-command'
import type { CommandSpec, Options } from '../flags'

export const CERT_FILE_OPTIONS: Options = {
  cert: { type: 'string', value: 'FILE', description: 'PEM file of the certificate chain, leaf first' },
  key: { type: 'string', value: 'FILE', description: 'PEM file of the leaf\'s private key (unencrypted; never printed)' }
}

export const SPEC: CommandSpec = {
  name: 'cert create',
  usage: 'NAME --cert FILE --key FILE',
  description: 'Create a cluster certificate from PEM files. Services use it with --cert NAME on their https ports;\n' +
    'every node also presents it to a handshake whose SNI matches one of its DNS names. Prints NAME.',
  options: { ...CERT_FILE_OPTIONS },
  positionals: { min: 1, max: 1, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  return await runCertWrite(argv, SPEC, (snap, name, pair, now) => {
    if (snap.parts.certs.has(name)) {
      throw new MeshError('MESH_ERR_CERT_EXISTS', `certificate ${name} already exists; replace it with mesh cert update ${name} --cert FILE --key FILE, or pick another name`)
    }
    return certRecord(name, pair, now, now)
  })
}
