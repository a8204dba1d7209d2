/**
 * Optimistic registry writes for the CLI: read a snapshot, validate and build
 * the ops against it, write them only if the registry is still at that
 * revision and epoch; on MESH_ERR_REGISTRY_CONFLICT read again and start over.
 * Validation throws before anything is written.
 *
 * A registry without a cluster epoch, or inside a restore window, is being
 * restored by the nodes (Redis was flushed or restarted empty): nothing is
 * planned against it. The write waits for the restore (the window's end, or
 * RESTORE_WAIT_MS for the restore to begin), then plans on what was restored,
 * so a command typed just after a flush loses nothing and erases nothing.
 */
import { MeshError, isMeshError } from '../errors'
import { compareAndSet } from '../registry/cas'
import type { RegistryStore, Snapshot, WriteOp } from '../registry/store'

export const WRITE_ATTEMPTS = 8
/** How long a write waits for nodes to begin restoring an empty registry. */
export const RESTORE_WAIT_MS = 5000
/** Slack after an open restore window's announced end. */
const WINDOW_SLACK_MS = 1000

export interface Written<T> { rev: number, result: T, snapshot: Snapshot }

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function restoringError (snap: Snapshot): MeshError {
  return new MeshError('MESH_ERR_REGISTRY_EPOCH', snap.epoch === ''
    ? 'the registry is being restored: it has no cluster epoch (Redis was flushed or restarted empty) and no node has written its state back yet'
    : `the registry is being restored: node ${snap.restoring?.node.slice(0, 12) ?? '?'} wrote back revision ${snap.restoring?.from ?? '?'}, and the restore window is open`)
}

export async function writeChecked<T> (
  store: RegistryStore,
  build: (snap: Snapshot) => { ops: WriteOp[], result: T },
  o: { restoreWaitMs?: number } = {}
): Promise<Written<T>> {
  let deadline = Date.now() + (o.restoreWaitMs ?? RESTORE_WAIT_MS)
  for (;;) {
    let seen: Snapshot | null = null
    try {
      const { rev, result } = await compareAndSet(store, async () => {
        const snapshot = seen = await store.snapshot()
        if (snapshot.epoch === '' || snapshot.restoring !== null) throw restoringError(snapshot)
        const { ops, result } = build(snapshot)
        return { rev: snapshot.rev, epoch: snapshot.epoch, ops, result: { result, snapshot } }
      }, {
        attempts: WRITE_ATTEMPTS,
        backoff: (attempt) => Math.floor(Math.random() * 20 * attempt),
        exhausted: (attempts, cause) => new MeshError('MESH_ERR_REGISTRY_CONFLICT',
          `the registry changed under this write ${attempts} times in a row; nothing was written, try again`, { cause })
      })
      return { rev, result: result.result, snapshot: result.snapshot }
    } catch (err) {
      if (!isMeshError(err, 'MESH_ERR_REGISTRY_EPOCH')) throw err
      const snap = seen as Snapshot | null
      // An open window says when it closes: wait for that, whatever the budget left.
      if (snap?.restoring != null) deadline = Math.max(deadline, Date.now() + snap.restoring.remainingMs + WINDOW_SLACK_MS)
      if (Date.now() >= deadline) {
        throw new MeshError('MESH_ERR_REGISTRY_EPOCH', `${err.message}; nothing was written. ` +
          'If Redis was flushed or restarted, the nodes restore it within seconds: try again. If no cluster was ever created in this Redis, create one with `mesh init` (or `mesh up`).', { cause: err })
      }
      await sleep(Math.min(100, Math.max(10, deadline - Date.now())))
    }
  }
}
