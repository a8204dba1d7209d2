/**
 * How a node's actual state (its tasks' status and health verdicts, its own
 * status) reaches the registry. A node whose credential may write the
 * registry (a manager, or a node on the cluster's admin credential) writes
 * it directly, in one WRITE. A joined worker may not: its Redis user can
 * append only to its own report stream (`<prefix>reports:<node id>`), and the
 * leading manager folds those reports into the registry after checking each
 * one belongs to that node (FOLD in scripts.ts), as Swarm workers report to
 * the managers. Every reader then learns it from the one change feed, so a
 * worker can never forge a record for anyone else.
 *
 * The fold acknowledges each report in the feed (`r:<node> <report id>`);
 * a writer that needs the revision its report landed at (a node leaving
 * waits for every table to serve it) waits for that acknowledgement.
 */
import type { EventEmitter } from 'node:events'
import { PART_CHAR } from './keys'
import { canWriteRegistry } from './parts'
import { deniedOr, type RegistryStore } from './store'
import type { HealthRecord, NodeRecord, NodeStatus, TaskStatus } from './types'

export type ReportOp =
  | { type: 'taskStatus', id: string, value: TaskStatus }
  | { type: 'health', id: string, value: HealthRecord }
  | { type: 'nodeStatus', id: string, value: NodeStatus }

export interface ReportSink {
  /**
   * Writes `ops`. Resolves with the registry revision they landed at, or
   * null when it is not known (not yet folded in within `ackWithin` ms; 0 or
   * absent: not waited for).
   */
  report: (ops: ReportOp[], ackWithin?: number) => Promise<number | null>
}

/** Report streams stay short: the leader folds them in within milliseconds, a new leader from its recorded position. */
const REPORT_MAXLEN = 1000

/** Stream ids `ms-seq` in order. */
export function streamIdAtLeast (id: string, min: string): boolean {
  const [a, b] = id.split('-').map(Number)
  const [c, d] = min.split('-').map(Number)
  return a > c || (a === c && b >= d)
}

/** Direct writes (a node allowed to write the registry). */
export function directSink (store: RegistryStore): ReportSink {
  return { report: async (ops) => await store.write(ops) }
}

/** Reports appended to the node's own stream, for the leader to fold in. */
export function streamSink (store: RegistryStore, nodeId: string, acks: EventEmitter): ReportSink {
  return {
    report: async (ops, ackWithin = 0) => {
      const fields: string[] = []
      for (const op of ops) fields.push(`${PART_CHAR[op.type]}:${op.id}`, JSON.stringify(op.value))
      let id: string
      try {
        id = await store.redis.xadd(store.keys.reports(nodeId), 'MAXLEN', '~', REPORT_MAXLEN, '*', ...fields) as string
      } catch (err) {
        throw deniedOr(err, 'a report to this node\'s report stream')
      }
      if (ackWithin <= 0) return null
      return await new Promise<number | null>((resolve) => {
        const onAck = (node: string, reportId: string, rev: number): void => {
          if (node !== nodeId || !streamIdAtLeast(reportId, id)) return
          done(rev)
        }
        const done = (rev: number | null): void => {
          clearTimeout(timer)
          acks.off('ack', onAck)
          resolve(rev)
        }
        const timer = setTimeout(() => { done(null) }, ackWithin)
        acks.on('ack', onAck)
      })
    }
  }
}

/**
 * The sink for a node whose role can change (promote, demote): direct while
 * `me()` may write the registry, through its report stream otherwise.
 */
export function nodeSink (store: RegistryStore, me: () => Pick<NodeRecord, 'id' | 'role' | 'user'>, acks: EventEmitter): ReportSink {
  const direct = directSink(store)
  const streams = new Map<string, ReportSink>()
  return {
    report: async (ops, ackWithin) => {
      const node = me()
      if (canWriteRegistry(node)) return await direct.report(ops, ackWithin)
      let sink = streams.get(node.id)
      if (sink === undefined) streams.set(node.id, sink = streamSink(store, node.id, acks))
      return await sink.report(ops, ackWithin)
    }
  }
}
