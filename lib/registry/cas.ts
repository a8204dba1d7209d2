/**
 * Optimistic compare-and-set on the registry: read, decide, write only if
 * the registry revision is still the one read (`ifRev`), and on a conflict
 * read again after a short random back-off. The CLI's checked writes, the
 * agents' task reports and a node's own record all go through here.
 */
import { MeshError, isMeshError } from '../errors'
import type { RegistryStore, WriteOp } from './store'
import type { RecordOf, RecordType } from './types'

export interface CasPlan<T> {
  /** The revision the plan was made at. */
  rev: number
  /** The epoch the plan was made at: the write is refused in any other (omit: the store's expectedEpoch). */
  epoch?: string
  /** Nothing to write when empty: the result stands as it is. */
  ops: WriteOp[]
  result: T
}

export interface CasOptions {
  attempts: number
  /** ms to wait after the n-th conflict (n from 1). */
  backoff: (attempt: number) => number
  /** The error when every attempt met a conflict. */
  exhausted: (attempts: number, cause: unknown) => MeshError
}

export async function compareAndSet<T> (store: RegistryStore, plan: () => Promise<CasPlan<T>>, o: CasOptions): Promise<{ rev: number, result: T }> {
  for (let attempt = 1; ; attempt++) {
    const p = await plan()
    if (p.ops.length === 0) return { rev: p.rev, result: p.result }
    try {
      return { rev: await store.write(p.ops, { ifRev: p.rev, epoch: p.epoch }), result: p.result }
    } catch (err) {
      if (!isMeshError(err, 'MESH_ERR_REGISTRY_CONFLICT')) throw err
      if (attempt >= o.attempts) throw o.exhausted(attempt, err)
      await new Promise((resolve) => setTimeout(resolve, o.backoff(attempt)))
    }
  }
}

/**
 * Read-modify-write of one record: `change` gets the stored record (null when
 * absent or malformed) and returns the record to store, or undefined to write
 * nothing. Only fields `change` sets move, so a concurrent writer's change to
 * other fields (a drain, a desired state) is never overwritten.
 */
export async function updateRecord<K extends RecordType> (
  store: RegistryStore,
  type: K,
  id: string,
  change: (current: RecordOf[K] | null) => RecordOf[K] | undefined,
  attempts = 30
): Promise<RecordOf[K] | null> {
  const { result } = await compareAndSet(store, async () => {
    const { rev, value } = await store.readRecord(type, id)
    const next = change(value)
    if (next === undefined) return { rev, ops: [], result: value }
    return { rev, ops: [{ type, id, value: next }], result: next }
  }, {
    attempts,
    backoff: (attempt) => Math.random() * Math.min(5 * attempt, 50),
    exhausted: (n) => new MeshError('MESH_ERR_REGISTRY_CONFLICT', `${store.keys.hashOf(type)} ${id}: the registry changed under ${n} write attempts in a row`)
  })
  return result
}
