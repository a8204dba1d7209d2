/** `mesh service ps NAME...`: ID NAME NODE DESIRED STATE CURRENT STATE ERROR, history as ` \_ name`. */
import type { Snapshot } from '../../registry/store'
import type { ServiceSpec, TaskRecord } from '../../registry/types'
import { findService, tasksOf } from '../../service/lookup'
import { shortId } from '../../util/ids'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { ago, capitalise, taskName } from '../format'
import { withSession } from '../registry-session'
import { printTable } from '../table'

export const SPEC: CommandSpec = {
  name: 'service ps',
  usage: 'SERVICE [SERVICE...]',
  options: {},
  positionals: { min: 1, max: 100, what: 'service name' }
}

function groupKey (spec: ServiceSpec, t: TaskRecord): string {
  if (spec.mode === 'global' && !t.static) return `n:${t.node}`
  return `s:${String(t.slot).padStart(8, '0')}`
}

/** Rows: per slot (node in global mode) the newest task, then its older ones as ` \_ name`. */
export function psRows (snap: Snapshot, spec: ServiceSpec, now = Date.now()): string[][] {
  const groups = new Map<string, TaskRecord[]>()
  for (const t of tasksOf(snap, spec)) {
    const k = groupKey(spec, t)
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [t])
    else g.push(t)
  }
  const rows: string[][] = []
  const nodeName = (t: TaskRecord): string => (t.static ? '-' : snap.nodes.get(t.node)?.name ?? (t.node === '' ? '' : shortId(t.node)))
  for (const key of [...groups.keys()].sort()) {
    const tasks = (groups.get(key) as TaskRecord[]).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    tasks.forEach((t, i) => {
      const name = taskName(spec, t)
      rows.push([
        shortId(t.id),
        i === 0 ? name : ` \\_ ${name}`,
        nodeName(t),
        capitalise(t.desired),
        `${capitalise(t.state)} ${ago(t.stateAt, now)}`,
        t.error === '' ? '' : JSON.stringify(t.error)
      ])
    })
  }
  return rows
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const specs = parsed.positionals.map((ref) => findService(snap, ref))
  const rows = specs.flatMap((s) => psRows(snap, s))
  printTable(['ID', 'NAME', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'], rows)
  return 0
}
