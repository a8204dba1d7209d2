/**
 * A one-shot registry connection for a CLI command: connects within
 * redis.connectTimeout or fails with MESH_ERR_REGISTRY_UNREACHABLE naming the
 * (password-redacted) URL. A Redis client error that escapes the command
 * (the connection lost half-way) becomes one MESH_ERR_REGISTRY_UNREACHABLE
 * sentence too (registry-errors.ts), never the client library's wording.
 * Commands that watch (converge progress, logs -f) ride out an outage with
 * `retryUnreachable`: one line, a retry every RETRY_INTERVAL, one line back.
 */
import type Redis from 'ioredis'
import { MeshError } from '../errors'
import type { Config } from '../config/schema'
import { createRedis, redactUrl } from '../registry/client'
import { RegistryStore } from '../registry/store'
import { isConnectionLoss, registryReason } from './registry-errors'

/** How often a watching command tries a lost registry again. */
export const RETRY_INTERVAL = 2000

export interface Session {
  config: Config
  store: RegistryStore
  /** The registry URL with its password as ***. */
  where: string
  /** Another connection (for blocking reads such as XREAD BLOCK); closed with the session. */
  newRedis: (name: string) => Promise<Redis>
  /** Connects again every connection that was lost (throws while the registry is still away). */
  reconnect: () => Promise<void>
  close: () => Promise<void>
}

function unreachable (where: string, err: unknown): MeshError {
  return new MeshError('MESH_ERR_REGISTRY_UNREACHABLE', `registry unreachable at ${where}: ${registryReason(err) ?? (err as Error).message}`, { cause: err })
}

/** (Re)connects `redis` within the connect timeout; rejects with the reason. */
async function dial (redis: Redis, config: Config): Promise<void> {
  let lastError: Error | null = null
  const onError = (err: Error): void => { lastError = err }
  redis.on('error', onError)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`no answer within ${config.redis.connectTimeout} ms`)) }, config.redis.connectTimeout + 250)
      })
    ])
  } catch (err) {
    redis.disconnect()
    throw lastError ?? err
  } finally {
    clearTimeout(timer)
    redis.off('error', onError)
  }
}

async function connect (config: Config, name: string): Promise<Redis> {
  const url = config.redis.url
  const redis = createRedis({ ...config.redis, name, oneShot: true })
  // Errors surface through the commands; this listener keeps ioredis from printing them.
  redis.on('error', () => {})
  try {
    await dial(redis, config)
  } catch (err) {
    throw new MeshError('MESH_ERR_REGISTRY_UNREACHABLE',
      `cannot reach the registry at ${redactUrl(url)} (${registryReason(err) ?? (err as Error).message}); start redis-server or point --redis / MESH_REDIS_URL at it`, { cause: err })
  }
  return redis
}

export async function openSession (config: Config): Promise<Session> {
  const main = await connect(config, 'mesh-cli')
  const extra: Redis[] = [main]
  return {
    config,
    store: new RegistryStore(main, config.redis.prefix, Number(config.registry.streamMaxLen)),
    where: redactUrl(config.redis.url),
    newRedis: async (name) => {
      const r = await connect(config, name)
      extra.push(r)
      return r
    },
    reconnect: async () => {
      for (const r of extra) if (r.status === 'end' || r.status === 'close' || r.status === 'wait') await dial(r, config)
    },
    close: async () => {
      await Promise.all(extra.map(async (r) => { try { await r.quit() } catch { r.disconnect() } }))
    }
  }
}

/** Runs `fn` with a session and always closes it; a lost registry is reported as one sentence. */
export async function withSession<T> (config: Config, fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(config)
  try {
    return await fn(session)
  } catch (err) {
    if (registryReason(err) !== null) throw unreachable(session.where, err)
    throw err
  } finally {
    await session.close()
  }
}

const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true

export interface RetryOptions {
  /** Gives up (rethrows as MESH_ERR_REGISTRY_UNREACHABLE) after this time (ms since the epoch). */
  until?: number
  /** Where the outage lines go. */
  err?: NodeJS.WritableStream
  signal?: AbortSignal
}

/**
 * Runs `fn`; while it fails because the registry is away, says so once
 * ("registry unreachable at URL: ECONNREFUSED; retrying every 2 s"),
 * tries to connect again every RETRY_INTERVAL, runs `fn` again once it
 * could, and says the registry is back.
 */
export async function retryUnreachable<T> (session: Session, fn: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const err = o.err ?? process.stderr
  let down = false
  let blip = false
  for (;;) {
    try {
      const value = await fn()
      blip = false
      if (down) err.write(`mesh: registry reachable again at ${session.where}\n`)
      return value
    } catch (e) {
      if (!isConnectionLoss(e) || aborted(o.signal)) throw e
      let cause: unknown = e
      // The connection's own error (ECONNREFUSED) says more than the command's ("connection closed").
      try { await session.reconnect() } catch (again) { if (registryReason(again) === null) throw again; cause = again }
      if (cause === e && !down && !blip) { blip = true; continue } // reconnected at once: a blip, run it again
      if (!down) {
        err.write(`mesh: registry unreachable at ${session.where}: ${registryReason(cause) ?? ''}; retrying every ${RETRY_INTERVAL / 1000} s\n`)
        down = true
      }
      for (;;) {
        if (o.until !== undefined && Date.now() + RETRY_INTERVAL > o.until) throw unreachable(session.where, cause)
        await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL))
        if (aborted(o.signal)) throw e
        try {
          await session.reconnect()
          break
        } catch (again) {
          if (registryReason(again) === null) throw again
          cause = again
        }
      }
    }
  }
}
