/** `mesh service ls`: ID NAME MODE REPLICAS COMMAND PORTS */
import type { Snapshot } from '../../registry/store'
import type { ServiceSpec } from '../../registry/types'
import { shortId } from '../../util/ids'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { formatCommand, formatPorts, truncate } from '../format'
import { withSession } from '../registry-session'
import { printTable } from '../table'

export const SPEC: CommandSpec = {
  name: 'service ls',
  usage: '[--quiet]',
  options: { quiet: { type: 'boolean', short: 'q' } },
  positionals: { min: 0, max: 0, what: '' }
}

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
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const services = [...snap.services.values()].sort((a, b) => a.name.localeCompare(b.name))
  if (bool(parsed.values, 'quiet')) {
    process.stdout.write(services.map((s) => `${shortId(s.id)}\n`).join(''))
    return 0
  }
  printTable(['ID', 'NAME', 'MODE', 'REPLICAS', 'COMMAND', 'PORTS'], services.map((s) => [
    shortId(s.id), s.name, s.mode, replicasColumn(snap, s),
    s.command.length === 0 ? '-' : truncate(formatCommand(s.command), 40), formatPorts(s.ports)
  ]))
  return 0
}
