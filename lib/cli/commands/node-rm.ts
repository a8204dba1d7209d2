/**
 * `mesh node rm [--force] NODE...`: removes nodes. A node whose heartbeat is
 * alive is refused unless --force (then its heartbeat goes too). A node that
 * joined with a token loses its credential: its Redis user is deleted
 * (Redis closes its connections and refuses it from then on: its daemon
 * says so and keeps serving what it knows), so it cannot come back without
 * a new token. A daemon on the cluster's admin credential registers again
 * on its next heartbeat.
 */
import { isMeshError, MeshError } from '../../errors'
import { notManager, revokeNode } from '../../node/provision'
import type { NodeRecord } from '../../registry/types'
import { findNode } from '../../service/lookup'
import { writeChecked } from '../../service/write'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'node rm',
  usage: '[--force] NODE [NODE...]',
  options: { force: { type: 'boolean', short: 'f' } },
  positionals: { min: 1, max: 100, what: 'node name or id' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const force = bool(parsed.values, 'force')
  await withSession(config, async (session) => {
    const beating = await session.store.beating([...(await session.store.snapshot()).nodes.keys()])
    const { result } = await writeChecked(session.store, (snap) => {
      const nodes = new Map<string, NodeRecord>()
      for (const ref of parsed.positionals) {
        const n = findNode(snap, ref)
        if (!force && beating.has(n.id) && n.status === 'ready') {
          throw new MeshError('MESH_ERR_NODE_LIVE', `node ${n.name} is not down and can't be removed: stop its daemon (or drain it) first, or use --force`)
        }
        nodes.set(n.id, n)
      }
      return { ops: [...nodes.keys()].map((id) => ({ type: 'node' as const, id, value: null })), result: [...nodes.values()] }
    }).catch((err: unknown) => { throw isMeshError(err, 'MESH_ERR_REGISTRY_DENIED') ? notManager() : err })
    for (const n of result) {
      await revokeNode(session.store, n).catch((err: Error) => { throw /NOPERM/.test(err.message) ? notManager() : err })
      if (force) await session.store.clearHeartbeat(n.id)
      process.stdout.write(`${n.name}\n`)
    }
  })
  return 0
}
