/**
 * Optimistic compare-and-set on the registry: read, decide, write only if
 * the registry revision is still the one read (`ifRev`), and on a conflict
 * read again after a short random back-off. The CLI's checked writes and
 * the agents' task reports both go through here.
 */
import { MeshError, isMeshError } from '../errors'
import type { RegistryStore, WriteOp } from './store'

export interface CasPlan<T> {
  /** The revision the plan was made at. */
  rev: number
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
      return { rev: await store.write(p.ops, { ifRev: p.rev }), result: p.result }
    } catch (err) {
      if (!isMeshError(err, 'MESH_ERR_REGISTRY_CONFLICT')) throw err
      if (attempt >= o.attempts) throw o.exhausted(attempt, err)
      await new Promise((resolve) => setTimeout(resolve, o.backoff(attempt)))
    }
  }
}
