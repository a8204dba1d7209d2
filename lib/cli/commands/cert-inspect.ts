/**
 * `mesh cert inspect [--format F] NAME...`: a JSON array describing each
 * certificate (cert/cert-info.ts: names, subject, issuer, validity,
 * fingerprint, the services naming it), never its key; `--format` renders a
 * Go template per certificate (`{{.notAfter}}`, `{{json .names}}`).
 * A name not found is an error (exit 1) after the others are printed.
 */
import { certInfo, type CertInfo } from '../../cert/cert-info'
import { findCert } from '../../cert/cert-write'
import { isMeshError, type MeshError } from '../../errors'
import { EXIT_FAILED } from '../exit-codes'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { printError } from '../main'
import { FORMAT_FLAG, outputFormat, render } from '../output'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'cert inspect',
  usage: '[OPTIONS] NAME [NAME...]',
  options: {
    format: { ...FORMAT_FLAG.format, description: 'Format output: json, or a Go template per certificate ({{.notAfter}}, {{json .names}})', default: 'json' }
  },
  positionals: { min: 1, max: 100, what: 'certificate name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const out: CertInfo[] = []
  const missing: MeshError[] = []
  for (const name of parsed.positionals) {
    try {
      out.push(certInfo(findCert(snap, name), snap))
    } catch (err) {
      if (!isMeshError(err, 'MESH_ERR_CERT_NOT_FOUND')) throw err
      missing.push(err)
    }
  }
  const f = outputFormat()
  const template = f.kind === 'template' ? f.template : f.kind === 'table' ? f.template : null
  if (template !== null) process.stdout.write(out.map((c) => `${render(template, c)}\n`).join(''))
  else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`)
  for (const err of missing) printError(err)
  return missing.length > 0 ? EXIT_FAILED : 0
}
