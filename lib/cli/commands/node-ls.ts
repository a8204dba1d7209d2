/**
 * `mesh node ls`: ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS. The node
 * the command runs on (the one `mesh init` or `mesh join` made in this
 * directory) is marked `*` after its id, as docker does; on a worker, as in
 * docker, the command is refused (workers do not manage the cluster).
 */
import { localNode } from '../../cluster/cluster-file'
import { notManager } from '../../node/provision'
import type { Snapshot } from '../../registry/store'
import type { NodeRecord } from '../../registry/types'
import { parseLease } from '../../scheduler/lease'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { capitalise } from '../format'
import { withSession } from '../registry-session'
import { printTable } from '../table'

export const SPEC: CommandSpec = {
  name: 'node ls',
  usage: '[--quiet]',
  options: { quiet: { type: 'boolean', short: 'q' } },
  positionals: { min: 0, max: 0, what: '' }
}

/** Leader (holds the scheduler lease), Reachable (live manager), Unreachable (dead manager), '' (worker). */
export function managerStatus (node: NodeRecord, alive: boolean, leaderId: string | null): string {
  if (node.role !== 'manager') return ''
  if (alive && node.id === leaderId) return 'Leader'
  return alive ? 'Reachable' : 'Unreachable'
}

/** Ready: registered and beating now (its heartbeat key, read by the command itself); Down otherwise. */
export function nodeRows (snap: Snapshot, beating: ReadonlySet<string>, leaderId: string | null, self: string | null = null): string[][] {
  return [...snap.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => {
    const alive = n.status === 'ready' && beating.has(n.id)
    return [n.id === self ? `${n.id} *` : n.id, n.name, alive ? 'Ready' : 'Down', capitalise(n.availability), managerStatus(n, alive, leaderId)]
  })
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const [snap, lease, beating] = await withSession(config, async (s) => {
    const [snap, lease] = await Promise.all([s.store.snapshot(), s.store.redis.get(s.store.keys.lease)])
    return [snap, lease, await s.store.beating([...snap.nodes.keys()])] as const
  })
  const leaderId = parseLease(lease)?.nodeId ?? null
  const self = localNode(process.cwd())?.id ?? null
  if (self !== null && snap.nodes.get(self)?.role === 'worker') throw notManager()
  if (bool(parsed.values, 'quiet')) {
    process.stdout.write([...snap.nodes.values()].map((n) => `${n.id}\n`).join(''))
    return 0
  }
  printTable(['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS'], nodeRows(snap, beating, leaderId, self))
  return 0
}
