/**
 * `mesh cert ls [-q] [--format F]`: NAME DNS NAMES NOT AFTER UPDATED, by
 * name. DNS NAMES are the names a handshake's SNI is matched against (as
 * the nodes read them); NOT AFTER the leaf's expiry, `(expired)` once past.
 */
import { certNames } from '../../proxy/tls/cert-store'
import type { CertRecord } from '../../registry/types'
import { isoDate, notAfterOf } from '../../cert/cert-info'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { ago } from '../format'
import { FORMAT_FLAG } from '../output'
import { withSession } from '../registry-session'
import { printList, type Column } from '../table'

export const SPEC: CommandSpec = {
  name: 'cert ls',
  usage: '[OPTIONS]',
  options: {
    quiet: { type: 'boolean', short: 'q', description: 'Only display names' },
    ...FORMAT_FLAG
  },
  positionals: { min: 0, max: 0, what: '' }
}

function names (r: CertRecord): string {
  try {
    const n = certNames(r.cert)
    return n.length === 0 ? '-' : n.join(',')
  } catch {
    return '(unreadable)'
  }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const certs = [...snap.parts.certs.values()].sort((a, b) => a.name.localeCompare(b.name))
  if (bool(parsed.values, 'quiet')) {
    process.stdout.write(certs.map((c) => `${c.name}\n`).join(''))
    return 0
  }
  const now = Date.now()
  const notAfter = (r: CertRecord): string => {
    const at = notAfterOf(r)
    return `${isoDate(at)}${at < now ? ' (expired)' : ''}`
  }
  const columns: Array<Column<CertRecord>> = [
    { header: 'NAME', value: (c) => c.name },
    { header: 'DNS NAMES', value: names },
    { header: 'NOT AFTER', value: notAfter },
    { header: 'UPDATED', value: (c) => ago(c.updatedAt, now) }
  ]
  printList(columns, certs)
  return 0
}
