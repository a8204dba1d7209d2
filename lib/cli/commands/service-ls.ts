/**
 * `mesh service ls [-q] [-f KEY=VALUE]... [--format F]`:
 * ID NAME MODE REPLICAS COMMAND PORTS ROUTING, docker's columns (the command
 * where docker shows the image; `{{.Image}}` reads it too), PORTS as docker
 * prints them (`*:80->80/tcp`; `/https`, `/tls`, `/udp` for the protocols
 * docker does not have) and how the mesh routes each port (L7, L4).
 */
import type { Snapshot } from '../../registry/store'
import type { ServiceSpec } from '../../registry/types'
import { shortId } from '../../util/ids'
import { bool, cliConfig, list, parseFlags, type CommandSpec } from '../flags'
import { filterFlag, matches, parseFilters } from '../filters'
import { formatCommand, formatPorts, formatRouting, truncate } from '../format'
import { withSession } from '../registry-session'
import { printList, type Column } from '../table'

const FILTERS = { id: null, name: null, mode: ['replicated', 'global'] } as const

export const SPEC: CommandSpec = {
  name: 'service ls',
  usage: '[OPTIONS]',
  options: {
    quiet: { type: 'boolean', short: 'q', description: 'Only display IDs' },
    filter: filterFlag(Object.keys(FILTERS)),
    'no-trunc': { type: 'boolean', description: 'Do not truncate output' }
  },
  positionals: { min: 0, max: 0, what: '' }
}

/** The command column's width unless --no-trunc. */
export const COMMAND_WIDTH = 40

/** `3/5`; static endpoints: `2/2 (static)` (not marked unhealthy / all), or `1/1 (+2 static)` beside tasks. */
export function replicasColumn (snap: Snapshot, spec: ServiceSpec): string {
  let running = 0
  let desired = 0
  let staticUp = 0
  let staticAll = 0
  for (const t of snap.tasks.values()) {
    if (t.serviceId !== spec.id) continue
    if (t.static) {
      staticAll++
      if (snap.health.get(t.id)?.status !== 'unhealthy') staticUp++
      continue
    }
    if (t.desired !== 'running') continue
    if (spec.mode === 'global') desired++
    if (t.state === 'running') running++
  }
  if (spec.mode === 'replicated') desired = spec.replicas
  const tasks = `${running}/${desired}`
  if (staticAll === 0) return tasks
  if (spec.command.length === 0 && desired === 0 && running === 0) return `${staticUp}/${staticAll} (static)`
  return `${tasks} (+${staticUp}/${staticAll} static)`
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const filters = parseFilters(list(parsed.values, 'filter'), FILTERS)
  const trunc = !bool(parsed.values, 'no-trunc')
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const services = [...snap.services.values()].sort((a, b) => a.name.localeCompare(b.name)).filter((s) => matches(filters, (key, v) =>
    key === 'id' ? s.id.startsWith(v) : key === 'name' ? s.name.startsWith(v) : s.mode === v))
  const id = (s: ServiceSpec): string => (trunc ? shortId(s.id) : s.id)
  if (bool(parsed.values, 'quiet')) {
    process.stdout.write(services.map((s) => `${id(s)}\n`).join(''))
    return 0
  }
  const command = (s: ServiceSpec): string => s.command.length === 0 ? '-' : trunc ? truncate(formatCommand(s.command), COMMAND_WIDTH) : formatCommand(s.command)
  const columns: Array<Column<ServiceSpec>> = [
    { header: 'ID', value: id },
    { header: 'NAME', value: (s) => s.name },
    { header: 'MODE', value: (s) => s.mode },
    { header: 'REPLICAS', value: (s) => replicasColumn(snap, s) },
    { header: 'COMMAND', value: command },
    { header: 'PORTS', value: (s) => formatPorts(s.ports) },
    { header: 'ROUTING', value: (s) => formatRouting(s.ports) }
  ]
  printList(columns, services, { aliases: { Image: 'Command' } })
  return 0
}
