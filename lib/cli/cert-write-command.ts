/**
 * What `mesh cert create` and `mesh cert update` share: NAME and the two
 * files from the command line, the files checked (cert/cert-files.ts)
 * before anything is written, one checked write, NAME printed. `record`
 * decides from the registry read what is written (or refuses).
 */
import { readCertPair, type CertPair } from '../cert/cert-files'
import { certWriteOps } from '../cert/cert-write'
import type { Snapshot } from '../registry/store'
import type { CertRecord } from '../registry/types'
import { certName } from '../service/route-options'
import { writeChecked } from '../service/write'
import { cliConfig, parseFlags, str, usageError, type CommandSpec } from './flags'
import { withSession } from './registry-session'

export async function runCertWrite (argv: string[], spec: CommandSpec, record: (snap: Snapshot, name: string, pair: CertPair, now: number) => CertRecord): Promise<number> {
  const parsed = parseFlags(argv, spec)
  if (parsed === null) return 0
  const name = certName(parsed.positionals[0], 'certificate name')
  const certPath = str(parsed.values, 'cert')
  const keyPath = str(parsed.values, 'key')
  if (certPath === undefined || keyPath === undefined) throw usageError(spec, `missing ${certPath === undefined ? '--cert FILE' : '--key FILE'}`)
  const pair = readCertPair(certPath, keyPath)
  const config = cliConfig(parsed.values)
  await withSession(config, async (session) => {
    await writeChecked(session.store, (snap) => {
      const now = Date.now()
      return { ops: certWriteOps(snap, record(snap, name, pair, now), now), result: undefined }
    })
  })
  process.stdout.write(`${name}\n`)
  return 0
}
