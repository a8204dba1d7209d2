/**
 * A node's side of a registry restore: when its feed finds the registry
 * without an epoch (flushed, or Redis restarted empty), or inside a restore
 * window it has not weighed in on, it offers the state it last knew (RESTORE
 * in scripts.ts decides: freshest revision wins within the window). The feed
 * calls this before it adopts what it read, so a node never trades its own
 * state for a staler one while the window is open.
 */
import type { Logger } from '../util/log'
import type { ClusterState } from './feed'
import { canWriteRegistry, type Parts } from './parts'
import type { RegistryStore, RestoreOutcome, Snapshot } from './store'

export interface OfferContext {
  store: RegistryStore
  nodeId: string
  heartbeatTtl: number
  /** Highest fencing token this node saw. */
  fence: number
  log: Logger
}

/** Key of the restore an offer answered, so a node weighs in once per restore. */
export function restoreKey (snap: Pick<Snapshot, 'restoring'>): string {
  return snap.restoring === null ? '' : `${snap.restoring.node}:${snap.restoring.from}`
}

/** The registry lost this node's state or is being restored: an offer is due. */
export function offerDue (mine: ClusterState, snap: Snapshot, lastHeard: string): boolean {
  if (snap.epoch === '') return mine.epoch !== ''
  return snap.restoring !== null && (mine.epoch === '' || mine.epoch === snap.epoch) && restoreKey(snap) !== lastHeard
}

/** The nodes `s` saw alive whose credential may restore: the window waits to hear from them. */
function restorersOf (s: ClusterState): string[] {
  return [...s.alive].filter((id) => canWriteRegistry(s.nodes.get(id)))
}

export async function offerState (c: OfferContext, mine: ClusterState, parts: Parts, snap: Snapshot): Promise<RestoreOutcome> {
  const outcome = await c.store.restore({
    epoch: mine.epoch,
    rev: mine.rev,
    fence: c.fence,
    nodeId: c.nodeId,
    windowMs: c.heartbeatTtl,
    heartbeatTtl: c.heartbeatTtl,
    alive: mine.alive,
    pending: restorersOf(mine),
    parts
  })
  const what = `${mine.services.size} services, ${mine.tasks.size} tasks/endpoints and ${mine.nodes.size} nodes at revision ${mine.rev}`
  const by = (node: string): string => node === c.nodeId ? 'this node' : `node ${node.slice(0, 12)}`
  switch (outcome.kind) {
    case 'restored':
      c.log.warn(`registry was empty (flushed, or Redis restarted without persistence): restored ${what} from this node's last-known-good state; ` +
        `fresher state from other nodes may replace it for up to ${c.heartbeatTtl} ms`)
      break
    case 'replaced':
      c.log.warn(`registry was being restored from revision ${snap.restoring?.from ?? '?'} (${by(snap.restoring?.node ?? '')}); this node's state is fresher: restored ${what}`)
      break
    case 'fresher-in-place':
      if (mine.epoch !== '') c.log.info(`registry restored from revision ${outcome.from} by another node; this node's revision ${mine.rev} is not fresher: following it`)
      break
    case 'other-epoch':
      c.log.warn(`registry epoch changed (${mine.epoch} -> ${outcome.epoch}): this Redis belongs to another cluster now; following it`)
      break
    case 'current':
      break
  }
  return outcome
}
