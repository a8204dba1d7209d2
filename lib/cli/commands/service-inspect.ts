/**
 * `mesh service inspect [--format F] SERVICE...`: a JSON array of specs
 * (with their static endpoints), like docker; `--format` renders a Go
 * template per service (`{{.Name}}`, `{{json .ports}}`, see output.ts).
 * How each port is routed is its `protocol`: `http` or `https` (L7), `tcp`,
 * `tls` (passthrough by SNI) or `udp` (L4). `options` are the route options
 * (backend, cert, proxyProtocol, redirectHttps), the defaults for a record
 * written before they existed.
 */
import { findService, tasksOf } from '../../service/lookup'
import { endpointKey } from '../../service/endpoints'
import { optionsOf } from '../../service/route-options'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { outputFormat, render, FORMAT_FLAG } from '../output'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'service inspect',
  usage: '[OPTIONS] SERVICE [SERVICE...]',
  options: {
    format: { ...FORMAT_FLAG.format, description: 'Format output: json, or a Go template per service ({{.Name}}, {{json .ports}})', default: 'json' }
  },
  positionals: { min: 1, max: 100, what: 'service name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const out = parsed.positionals.map((ref) => {
    const spec = findService(snap, ref)
    const endpoints = tasksOf(snap, spec).filter((t) => t.static).sort((a, b) => a.slot - b.slot).map(endpointKey)
    return { ...spec, options: optionsOf(spec.options), endpoints }
  })
  const f = outputFormat()
  const template = f.kind === 'template' ? f.template : f.kind === 'table' ? f.template : null
  if (template !== null) {
    process.stdout.write(out.map((s) => `${render(template, s)}\n`).join(''))
    return 0
  }
  process.stdout.write(`${JSON.stringify(out, null, 4)}\n`)
  return 0
}
