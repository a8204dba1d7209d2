/**
 * Redis connections from a redis:// or rediss:// URL (user and password
 * allowed). Data-plane connections fail fast while Redis is away (no offline
 * queue) and reconnect with a capped exponential back-off.
 */
import Redis, { type RedisOptions } from 'ioredis'

export interface ConnectOptions {
  url: string
  connectTimeout: number
  reconnectMaxDelay: number
  /** Connection name shown by CLIENT LIST. */
  name?: string
  /** CLI use: queue commands until the first connect, give up after one try. */
  oneShot?: boolean
  /**
   * Fail a command with no reply after this many ms (for connections that
   * never block, e.g. a daemon's command connection). Without it, a command
   * in flight when a connection died can wait until Redis is back: ioredis
   * keeps it for resending, and a reconnect that gets a TCP connection but
   * no ready Redis (a port proxy in front of a stopped Redis) never fails it.
   */
  commandTimeout?: number
}

/** A blocking read (XREAD BLOCK n) fails this long after its n ms if no reply came, for the same reason. */
const BLOCKING_GRACE_MS = 1000

export function createRedis (options: ConnectOptions): Redis {
  const base: RedisOptions = {
    connectTimeout: options.connectTimeout,
    connectionName: options.name,
    lazyConnect: true,
    enableAutoPipelining: false,
    // ioredis would print unhandled 'error' events; owners attach their own listener.
    retryStrategy: options.oneShot === true
      ? () => null
      : (times: number) => Math.min(50 * 2 ** Math.min(times, 10), options.reconnectMaxDelay),
    maxRetriesPerRequest: options.oneShot === true ? 0 : 1,
    enableOfflineQueue: options.oneShot === true,
    enableReadyCheck: true,
    commandTimeout: options.commandTimeout,
    // Arms a client-side timer on every blocking command: its BLOCK time + grace (BLOCK 0: one minute).
    blockingTimeout: 60_000,
    blockingTimeoutGrace: BLOCKING_GRACE_MS
  }
  const url = new URL(options.url)
  if (url.protocol === 'rediss:') base.tls = { servername: url.hostname }
  return new Redis(options.url, base)
}

/** The URL without its password, for messages. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}
