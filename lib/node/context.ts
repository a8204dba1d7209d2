/**
 * What a node daemon hands the subsystems it runs (data plane, agent,
 * scheduler). Built once in lib/index.ts.
 */
import type Redis from 'ioredis'
import type { Config } from '../config/schema'
import type { RegistryFeed } from '../registry/feed'
import { directSink, type ReportSink } from '../registry/report-sink'
import type { RegistryStore } from '../registry/store'

export interface NodeIdentity {
  /** A joined node's id (from its state directory); nodeIdFor(name) for a node on the cluster's admin credential. Stable across restarts. */
  id: string
  name: string
  /** Advertise address: where this node's tasks listen and other nodes reach it. */
  addr: string
  /** Changes when the node is promoted or demoted (role-watch.ts). */
  role: 'manager' | 'worker'
  /** Its own Redis ACL user when it joined with a token; absent on the cluster's admin credential. */
  user?: string
}

export interface NodeContext {
  config: Config
  node: NodeIdentity
  /** Command connection (non-blocking commands only). */
  store: RegistryStore
  /** The node's live view of the registry; 'change' after every applied batch. */
  feed: RegistryFeed
  /** Opens another connection (for blocking reads such as XREAD on log streams). */
  newRedis: (name: string) => Redis
  /** Where the node's actual state goes (registry/report-sink.ts); direct writes when absent. */
  reports?: ReportSink
}

/** The node's report sink. */
export function reportsOf (ctx: NodeContext): ReportSink {
  return ctx.reports ?? directSink(ctx.store)
}

/** A long-running part of a node daemon. */
export interface Subsystem {
  stop: () => Promise<void>
}
