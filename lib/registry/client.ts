/**
 * Redis connections from redis.url in any of its forms (lib/config/redis-url.ts):
 * one server (redis://, rediss://) or the master its Sentinels name
 * (redis+sentinel://, rediss+sentinel://), with the TLS files of redis.tlsCa,
 * redis.tlsCert and redis.tlsKey. Data-plane connections fail fast while Redis
 * is away (no offline queue) and reconnect with a capped exponential back-off;
 * through Sentinel every reconnect asks the sentinels where the master is now,
 * so a failover is a reconnect.
 *
 * Registry writes wait for replicas here too (confirmReplicated: Redis WAIT).
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import Redis, { type RedisOptions } from 'ioredis'
import { MeshError } from '../errors'
import { parseRedisUrl } from '../config/redis-url'
import { createLogger } from '../util/log'
import { redactUrl as redactText } from '../util/redact'

const log = createLogger('registry')

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
  /** PEM files (redis.tlsCa, redis.tlsCert, redis.tlsKey; '' = none), for a TLS URL. */
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  /** Replicas a registry write on this connection waits for (redis.waitReplicas, resolved; 0 = none). */
  waitReplicas?: number
  /** For at most this many ms (redis.waitTimeout). */
  waitTimeout?: number
}

/** A blocking read (XREAD BLOCK n) fails this long after its n ms if no reply came, for the same reason. */
const BLOCKING_GRACE_MS = 1000

/**
 * A connection to the registry, from `...config.redis` plus what the caller
 * adds (name, oneShot, commandTimeout). Throws MESH_ERR_CONFIG for a URL or a
 * TLS file that is not (any longer) usable; connects only on connect().
 */
export function createRedis (options: ConnectOptions): Redis {
  const target = parseRedisUrl(options.url)
  const retry = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), options.reconnectMaxDelay)
  const base: RedisOptions = {
    connectTimeout: options.connectTimeout,
    connectionName: options.name,
    lazyConnect: true,
    enableAutoPipelining: false,
    // ioredis would print unhandled 'error' events; owners attach their own listener.
    retryStrategy: options.oneShot === true ? () => null : retry,
    maxRetriesPerRequest: options.oneShot === true ? 0 : 1,
    enableOfflineQueue: options.oneShot === true,
    enableReadyCheck: true,
    commandTimeout: options.commandTimeout,
    // Arms a client-side timer on every blocking command: its BLOCK time + grace (BLOCK 0: one minute).
    blockingTimeout: 60_000,
    blockingTimeoutGrace: BLOCKING_GRACE_MS
  }
  let redis: Redis
  if (target.kind === 'server') {
    if (target.tls) {
      const host = new URL(options.url).hostname.replace(/^\[|\]$/g, '')
      // SNI carries a name, never an address (RFC 6066); the certificate is checked against the host either way.
      base.tls = { ...tlsFiles(options), ...(isIP(host) === 0 ? { servername: host } : {}) }
    }
    redis = new Redis(options.url, base)
  } else {
    const tls = target.tls ? tlsFiles(options) : undefined
    redis = new Redis({
      ...base,
      sentinels: target.sentinels,
      name: target.master,
      role: 'master',
      username: target.username === '' ? undefined : target.username,
      password: target.password === '' ? undefined : target.password,
      sentinelUsername: target.sentinelUsername === '' ? undefined : target.sentinelUsername,
      sentinelPassword: target.sentinelPassword === '' ? undefined : target.sentinelPassword,
      // All sentinels unreachable: the same back-off (the CLI gives up at once).
      sentinelRetryStrategy: options.oneShot === true ? () => null : retry,
      // A sentinel that accepts the connection but never answers is skipped, not waited on.
      sentinelCommandTimeout: options.connectTimeout,
      enableTLSForSentinelMode: target.tls,
      tls,
      sentinelTLS: tls
    })
    // Each sentinel that could not say where the master is (down, or it knows no such master).
    redis.on('sentinelError', (err: Error) => { log.debug('%s: %s', redactText(options.url), err.message) })
  }
  const wait = options.waitReplicas ?? 0
  if (wait > 0) {
    const timeout = options.waitTimeout ?? 1000
    // A WAIT must end before the connection's own command timeout would fail it.
    const bounded = options.commandTimeout === undefined ? timeout : Math.min(timeout, Math.floor(options.commandTimeout / 2))
    REPLICATION.set(redis, { replicas: wait, timeout: bounded, url: options.url, short: false, denied: false })
  }
  return redis
}

function tlsFiles (options: ConnectOptions): ConnectionOptions {
  const read = (key: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined || file === '') return undefined
    try {
      return readFileSync(file)
    } catch (err) {
      throw new MeshError('MESH_ERR_CONFIG', `config key redis.${key}: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err })
    }
  }
  const out: ConnectionOptions = {}
  const ca = read('tlsCa', options.tlsCa)
  const cert = read('tlsCert', options.tlsCert)
  const key = read('tlsKey', options.tlsKey)
  if (ca !== undefined) out.ca = ca
  if (cert !== undefined) out.cert = cert
  if (key !== undefined) out.key = key
  return out
}

interface Replication {
  replicas: number
  timeout: number
  url: string
  /** The last write reached fewer replicas than asked (said once, until one reaches them again). */
  short: boolean
  /** WAIT was refused (NOPERM): said once, then writes are not waited on. */
  denied: boolean
}

const REPLICATION = new WeakMap<Redis, Replication>()

/**
 * After a registry write on `redis`: waits (Redis WAIT) until
 * redis.waitReplicas replicas have everything this connection wrote, for at
 * most redis.waitTimeout, so a write reported done survives a failover to
 * one of them. Resolves with how many acknowledged (null: this connection
 * does not wait). Fewer than asked is said once on stderr (a warning naming
 * the revision), and again only after writes reached them in between; the
 * write stands either way. A connection lost during the WAIT rejects, as a
 * write whose reply was lost does: whether it survives is not known.
 */
export async function confirmReplicated (redis: Redis, rev: number): Promise<number | null> {
  const r = REPLICATION.get(redis)
  if (r === undefined || r.denied) return null
  let acked: number
  try {
    acked = await redis.wait(r.replicas, r.timeout)
  } catch (err) {
    if (!/NOPERM/.test((err as Error).message)) throw err
    r.denied = true
    log.warn(`registry ${redactText(r.url)}: this user may not run WAIT (${(err as Error).message}); writes are not confirmed on replicas: grant it +wait, or set redis.waitReplicas 0`)
    return null
  }
  if (acked >= r.replicas) {
    if (r.short) log.info(`registry write at revision ${rev} reached ${acked} replica${acked === 1 ? '' : 's'}: writes are replicated again`)
    r.short = false
    return acked
  }
  log.debug('write at revision %d: %d of %d replicas within %d ms', rev, acked, r.replicas, r.timeout)
  if (!r.short) {
    log.warn(`registry write at revision ${rev} reached ${acked === 0 ? 'no replica' : `${acked} of ${r.replicas} replicas`} within ${r.timeout} ms (Redis WAIT): ` +
      'it is on the master only, and a failover before a replica has it loses it')
  }
  r.short = true
  return acked
}

/** The URL without its password, for messages (every form: lib/util/redact.ts). */
export function redactUrl (url: string): string {
  return redactText(url)
}
