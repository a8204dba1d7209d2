/**
 * `mesh service ps [-q] [--no-trunc] [-f KEY=VALUE]... [--format F] SERVICE...`:
 * docker's columns ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR
 * PORTS, with the task's command where docker shows the image (COMMAND;
 * `{{.Image}}` reads it too) and in PORTS the address the task itself
 * listens on for each target port (`127.0.0.1:20001->80/tcp`, docker's
 * host-mode form). Per slot (node in global mode) the newest task, then its
 * older ones as ` \_ name` history rows.
 */
import type { Snapshot } from '../../registry/store'
import type { ServiceSpec, TaskRecord } from '../../registry/types'
import { isActiveState } from '../../scheduler/task-rules'
import { findService, tasksOf } from '../../service/lookup'
import { taskPort } from '../../table/eligibility'
import { shortId } from '../../util/ids'
import { bool, cliConfig, list, parseFlags, type CommandSpec } from '../flags'
import { filterFlag, matches, parseFilters, type Filters } from '../filters'
import { ago, capitalise, formatCommand, taskName, truncate } from '../format'
import { withSession } from '../registry-session'
import { printList, type Column } from '../table'
import { COMMAND_WIDTH } from './service-ls'

const FILTERS = { id: null, name: null, node: null, 'desired-state': ['running', 'shutdown', 'remove'] } as const

export const SPEC: CommandSpec = {
  name: 'service ps',
  usage: '[OPTIONS] SERVICE [SERVICE...]',
  options: {
    quiet: { type: 'boolean', short: 'q', description: 'Only display task IDs' },
    'no-trunc': { type: 'boolean', description: 'Do not truncate output' },
    filter: filterFlag(Object.keys(FILTERS))
  },
  positionals: { min: 1, max: 100, what: 'service name' }
}

/** docker's maxErrLength. */
const ERROR_WIDTH = 30

export interface PsRow { task: TaskRecord, spec: ServiceSpec, name: string, history: boolean }

function groupKey (spec: ServiceSpec, t: TaskRecord): string {
  if (spec.mode === 'global' && !t.static) return `n:${t.node}`
  return `s:${String(t.slot).padStart(8, '0')}`
}

/** Tasks of `spec` that pass `filters`, grouped: per slot (node in global mode) the newest first, then its history. */
export function psTasks (snap: Snapshot, spec: ServiceSpec, filters: Filters = new Map()): PsRow[] {
  const nodeOf = (t: TaskRecord): { id: string, name: string } | null => (t.static ? null : { id: t.node, name: snap.nodes.get(t.node)?.name ?? '' })
  const groups = new Map<string, TaskRecord[]>()
  for (const t of tasksOf(snap, spec)) {
    const keep = matches(filters, (key, v) => {
      if (key === 'id') return t.id.startsWith(v)
      if (key === 'name') return taskName(spec, t).startsWith(v)
      if (key === 'node') { const n = nodeOf(t); return n !== null && (n.id === v || n.name === v) }
      return t.desired === v
    })
    if (!keep) continue
    const k = groupKey(spec, t)
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [t])
    else g.push(t)
  }
  const rows: PsRow[] = []
  for (const key of [...groups.keys()].sort()) {
    const tasks = (groups.get(key) as TaskRecord[]).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    tasks.forEach((task, i) => { rows.push({ task, spec, name: taskName(spec, task), history: i > 0 }) })
  }
  return rows
}

/** The command a task runs: its spec version's (the current or the previous spec). */
function commandOf (r: PsRow): string {
  if (r.task.static) return '-'
  const s = r.spec
  if (r.task.specVersion === s.version) return formatCommand(s.command)
  if (s.previous !== null && r.task.specVersion === s.previous.version) return formatCommand(s.previous.command)
  return ''
}

/** Where the task listens, per target port, while it may be listening. */
function portsOf (r: PsRow): string {
  const t = r.task
  if (t.host === '' || t.port === 0 || (!t.static && !isActiveState(t.state))) return ''
  // A target is listened on over TCP, over UDP, or both (docker's NNN/tcp, NNN/udp).
  const targets = [...new Set(r.spec.ports.map((p) => `${p.target}/${p.protocol === 'udp' ? 'udp' : 'tcp'}`))]
  return targets.map((tp) => {
    const target = Number(tp.slice(0, tp.indexOf('/')))
    return `${t.host}:${taskPort(t, target)}->${tp}`
  }).join(', ')
}

export function psColumns (snap: Snapshot, trunc: boolean, now = Date.now()): Array<Column<PsRow>> {
  const nodeName = (t: TaskRecord): string => (t.static ? '-' : snap.nodes.get(t.node)?.name ?? (t.node === '' ? '' : shortId(t.node)))
  return [
    { header: 'ID', value: (r) => (trunc ? shortId(r.task.id) : r.task.id) },
    { header: 'NAME', value: (r) => (r.history ? ` \\_ ${r.name}` : r.name) },
    { header: 'COMMAND', value: (r) => (trunc ? truncate(commandOf(r), COMMAND_WIDTH) : commandOf(r)) },
    { header: 'NODE', value: (r) => nodeName(r.task) },
    { header: 'DESIRED STATE', value: (r) => capitalise(r.task.desired) },
    { header: 'CURRENT STATE', value: (r) => `${capitalise(r.task.state)} ${ago(r.task.stateAt, now)}` },
    { header: 'ERROR', value: (r) => (r.task.error === '' ? '' : JSON.stringify(trunc ? truncate(r.task.error, ERROR_WIDTH) : r.task.error)) },
    { header: 'PORTS', value: portsOf }
  ]
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const filters = parseFilters(list(parsed.values, 'filter'), FILTERS)
  const trunc = !bool(parsed.values, 'no-trunc')
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const specs = parsed.positionals.map((ref) => findService(snap, ref))
  const rows = specs.flatMap((s) => psTasks(snap, s, filters))
  if (bool(parsed.values, 'quiet')) {
    process.stdout.write(rows.map((r) => `${trunc ? shortId(r.task.id) : r.task.id}\n`).join(''))
    return 0
  }
  printList(psColumns(snap, trunc), rows, { aliases: { Image: 'Command' } })
  return 0
}
