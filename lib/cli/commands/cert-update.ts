/**
 * `mesh cert update NAME --cert FILE --key FILE`: replaces certificate
 * NAME's chain and key (checked as by cert create). Handshakes on every
 * node use the new one as soon as its table has it; connections already up
 * keep theirs. Services naming it need no change. Prints NAME.
 */
import { readCertPair } from '../../cert/cert-files'
import { certRecord, certWriteOps, findCert } from '../../cert/cert-write'
import { certName } from '../../service/route-options'
import { writeChecked } from '../../service/write'
import { cliConfig, parseFlags, str, usageError, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'
import { CERT_FILE_OPTIONS } from './cert-create'

export const SPEC: CommandSpec = {
  name: 'cert update',
  usage: 'NAME --cert FILE --key FILE',
  description: 'Replace a cluster certificate: new TLS handshakes on every node get the new one, open connections keep theirs.',
  options: { ...CERT_FILE_OPTIONS },
  positionals: { min: 1, max: 1, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const name = certName(parsed.positionals[0], 'certificate name')
  const certPath = str(parsed.values, 'cert')
  const keyPath = str(parsed.values, 'key')
  if (certPath === undefined || keyPath === undefined) throw usageError(SPEC, `missing ${certPath === undefined ? '--cert FILE' : '--key FILE'}`)
  const pair = readCertPair(certPath, keyPath)
  const config = cliConfig(parsed.values)
  await withSession(config, async (session) => {
    await writeChecked(session.store, (snap) => {
      const cur = findCert(snap, name)
      const now = Date.now()
      return { ops: certWriteOps(snap, certRecord(name, pair, cur.createdAt, now), now), result: undefined }
    })
  })
  process.stdout.write(`${name}\n`)
  return 0
}
