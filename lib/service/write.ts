/**
 * Optimistic registry writes for the CLI: read a snapshot, validate and build
 * the ops against it, write them only if the registry is still at that
 * revision; on MESH_ERR_REGISTRY_CONFLICT read again and start over.
 * Validation throws before anything is written.
 */
import { MeshError, isMeshError } from '../errors'
import type { RegistryStore, Snapshot, WriteOp } from '../registry/store'

export const WRITE_ATTEMPTS = 8

export interface Written<T> { rev: number, result: T, snapshot: Snapshot }

export async function writeChecked<T> (
  store: RegistryStore,
  build: (snap: Snapshot) => { ops: WriteOp[], result: T }
): Promise<Written<T>> {
  for (let attempt = 1; ; attempt++) {
    const snap = await store.snapshot()
    const { ops, result } = build(snap)
    if (ops.length === 0) return { rev: snap.rev, result, snapshot: snap }
    try {
      const rev = await store.write(ops, { ifRev: snap.rev })
      return { rev, result, snapshot: snap }
    } catch (err) {
      if (!isMeshError(err, 'MESH_ERR_REGISTRY_CONFLICT')) throw err
      if (attempt >= WRITE_ATTEMPTS) {
        throw new MeshError('MESH_ERR_REGISTRY_CONFLICT',
          `the registry changed under this write ${attempt} times in a row; nothing was written, try again`, { cause: err })
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20 * attempt)))
    }
  }
}
