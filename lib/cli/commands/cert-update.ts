/**
 * `mesh cert update NAME --cert FILE --key FILE`: replaces certificate
 * NAME's chain and key (checked as by cert create). Handshakes on every
 * node use the new one as soon as its table has it; connections already up
 * keep theirs. Services naming it need no change. Prints NAME.
 */
import { certRecord, findCert } from '../../cert/cert-write'
import { runCertWrite } from '../cert-write-command'
import type { CommandSpec } from '../flags'
import { CERT_FILE_OPTIONS } from './cert-create'

export const SPEC: CommandSpec = {
  name: 'cert update',
  usage: 'NAME --cert FILE --key FILE',
  description: 'Replace a cluster certificate: new TLS handshakes on every node get the new one, open connections keep theirs.',
  options: { ...CERT_FILE_OPTIONS },
  positionals: { min: 1, max: 1, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  return await runCertWrite(argv, SPEC, (snap, name, pair, now) => certRecord(name, pair, findCert(snap, name).createdAt, now))
}
