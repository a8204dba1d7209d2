/**
 * What a node daemon hands the subsystems it runs (data plane, agent,
 * scheduler). Built once in lib/index.ts.
 */
import type Redis from 'ioredis'
import type { Config } from '../config/schema'
import type { RegistryFeed } from '../registry/feed'
import type { RegistryStore } from '../registry/store'

export interface NodeIdentity {
  /** nodeIdFor(name): stable across restarts of the daemon. */
  id: string
  name: string
  /** Advertise address: where this node's tasks listen and other nodes reach it. */
  addr: string
  role: 'manager' | 'worker'
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
}

/** A long-running part of a node daemon. */
export interface Subsystem {
  stop: () => Promise<void>
}
