/**
 * What the dashboard shows of each node's liveness beyond the registry
 * records: how long ago it last beat, the revision it serves (its heartbeat
 * key's value) and who leads (the scheduler lease). One pipelined read of
 * those keys per dashboard tick, and only while someone watches.
 */
import type { RegistryStore } from '../registry/store'
import { parseLease } from '../scheduler/lease'
import { createLogger } from '../util/log'

const log = createLogger('admin')

export interface NodeLiveness {
  /** Milliseconds since the node's last heartbeat (node.heartbeatTtl minus what is left of its key); null when it has none. */
  heartbeatAgeMs: number | null
  servedRev: number | null
}

export interface Liveness {
  leaderId: string | null
  nodes: Record<string, NodeLiveness>
}

export class LivenessReader {
  readonly #store: RegistryStore
  readonly #ttl: number

  /** `heartbeatTtl`: the TTL every node writes its heartbeat with (node.heartbeatTtl). */
  constructor (store: RegistryStore, heartbeatTtl: number) {
    this.#store = store
    this.#ttl = heartbeatTtl
  }

  /** null when the registry did not answer (the page shows it as down). */
  async read (nodeIds: readonly string[]): Promise<Liveness | null> {
    const keys = this.#store.keys
    const p = this.#store.redis.pipeline()
    p.get(keys.lease)
    for (const id of nodeIds) p.pttl(keys.heartbeat(id)).get(keys.heartbeat(id))
    let replies: Array<[Error | null, unknown]> | null
    try {
      replies = await p.exec()
    } catch (err) {
      log.debug('dashboard liveness read failed: %s', (err as Error).message)
      return null
    }
    if (replies === null || replies.some(([err]) => err !== null)) return null
    const nodes: Record<string, NodeLiveness> = {}
    nodeIds.forEach((id, i) => {
      const pttl = Number(replies?.[1 + 2 * i][1])
      const value = replies?.[2 + 2 * i][1]
      nodes[id] = {
        heartbeatAgeMs: pttl > 0 ? Math.max(0, this.#ttl - pttl) : null,
        servedRev: typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null
      }
    })
    const lease = replies[0][1]
    return { leaderId: parseLease(typeof lease === 'string' ? lease : null)?.nodeId ?? null, nodes }
  }
}
