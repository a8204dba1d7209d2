/**
 * Optimistic registry writes for the CLI: read a snapshot, validate and build
 * the ops against it, write them only if the registry is still at that
 * revision; on MESH_ERR_REGISTRY_CONFLICT read again and start over.
 * Validation throws before anything is written.
 */
import { MeshError } from '../errors'
import { compareAndSet } from '../registry/cas'
import type { RegistryStore, Snapshot, WriteOp } from '../registry/store'

export const WRITE_ATTEMPTS = 8

export interface Written<T> { rev: number, result: T, snapshot: Snapshot }

export async function writeChecked<T> (
  store: RegistryStore,
  build: (snap: Snapshot) => { ops: WriteOp[], result: T }
): Promise<Written<T>> {
  const { rev, result } = await compareAndSet(store, async () => {
    const snapshot = await store.snapshot()
    const { ops, result } = build(snapshot)
    return { rev: snapshot.rev, ops, result: { result, snapshot } }
  }, {
    attempts: WRITE_ATTEMPTS,
    backoff: (attempt) => Math.floor(Math.random() * 20 * attempt),
    exhausted: (attempts, cause) => new MeshError('MESH_ERR_REGISTRY_CONFLICT',
      `the registry changed under this write ${attempts} times in a row; nothing was written, try again`, { cause })
  })
  return { rev, result: result.result, snapshot: result.snapshot }
}
