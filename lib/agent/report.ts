/**
 * State reports from an agent. The scheduler owns `desired` (and `node`,
 * `slot`, `specVersion`); the agent owns the observed fields (`state`,
 * `host`, `port`, `pid`, `error`, `exitCode`). Both write whole records, so
 * a report is a compare-and-set: read the record and the registry revision
 * in one MULTI, change only the observed fields, write with `ifRev`, and
 * retry on a conflict. A report therefore never undoes a desired-state
 * change made meanwhile.
 */
import { MeshError } from '../errors'
import { compareAndSet } from '../registry/cas'
import { decodeRecord } from '../registry/codec'
import type { RegistryStore } from '../registry/store'
import type { TaskRecord } from '../registry/types'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Applies `change` to the stored task. `change` returns the fields to set, or
 * null when nothing should be written (e.g. the record already moved past).
 * Resolves to the stored record (null when the task is gone).
 */
export async function updateTask (
  store: RegistryStore,
  id: string,
  change: (current: TaskRecord) => Partial<TaskRecord> | null,
  maxTries = 30
): Promise<TaskRecord | null> {
  const k = store.keys
  const { result } = await compareAndSet(store, async () => {
    const res = await store.redis.multi().get(k.rev).hget(k.tasks, id).exec()
    if (res === null) throw new Error('registry read aborted')
    for (const [err] of res) if (err !== null) throw err
    const rev = Number(res[0][1] ?? 0)
    const json = res[1][1] as string | null
    const decoded = json === null ? null : decodeRecord('task', json)
    if (decoded === null || !decoded.ok) return { rev, ops: [], result: null }
    const current = decoded.value as TaskRecord
    const fields = change(current)
    if (fields === null) return { rev, ops: [], result: current }
    const next: TaskRecord = { ...current, ...fields }
    return { rev, ops: [{ type: 'task', id, value: next }], result: next }
  }, {
    attempts: maxTries,
    backoff: (attempt) => Math.random() * Math.min(5 * attempt, 50),
    exhausted: (attempts) => new MeshError('MESH_ERR_REGISTRY_CONFLICT', `task ${id}: the registry changed under ${attempts} report attempts in a row`)
  })
  return result
}

/**
 * Serialises the reports of each task (so they land in the order they were
 * made) and retries through a Redis outage until `stopped()` says to give up.
 */
export class Reporter {
  readonly #store: RegistryStore
  readonly #chains = new Map<string, Promise<unknown>>()
  readonly #onError: (err: unknown) => void
  #giveUp = false

  constructor (store: RegistryStore, onError: (err: unknown) => void) {
    this.#store = store
    this.#onError = onError
  }

  report (id: string, change: (current: TaskRecord) => Partial<TaskRecord> | null): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve()
    const next = prev.then(async () => { await this.#attempt(id, change) })
    const tail = next.catch(() => {})
    this.#chains.set(id, tail)
    void tail.then(() => { if (this.#chains.get(id) === tail) this.#chains.delete(id) })
    return tail
  }

  async #attempt (id: string, change: (current: TaskRecord) => Partial<TaskRecord> | null): Promise<void> {
    let delay = 100
    for (;;) {
      try {
        await updateTask(this.#store, id, change)
        return
      } catch (err) {
        this.#onError(err)
        if (this.#giveUp) return
        await sleep(delay)
        delay = Math.min(delay * 2, 2000)
      }
    }
  }

  /** Waits for pending reports, at most `ms`; later failures are dropped. */
  async flush (ms: number): Promise<void> {
    const all = Promise.all([...this.#chains.values()])
    await Promise.race([all, sleep(ms)])
    this.#giveUp = true
  }
}
