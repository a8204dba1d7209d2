/**
 * A one-shot registry connection for a CLI command: connects within
 * redis.connectTimeout or fails with MESH_ERR_REGISTRY_UNREACHABLE naming the
 * (password-redacted) URL.
 */
import type Redis from 'ioredis'
import { MeshError } from '../errors'
import type { Config } from '../config/schema'
import { createRedis, redactUrl } from '../registry/client'
import { RegistryStore } from '../registry/store'

export interface Session {
  config: Config
  store: RegistryStore
  /** Another connection (for blocking reads such as XREAD BLOCK); closed with the session. */
  newRedis: (name: string) => Promise<Redis>
  close: () => Promise<void>
}

async function connect (config: Config, name: string): Promise<Redis> {
  const url = config.redis.url
  const redis = createRedis({ url, connectTimeout: config.redis.connectTimeout, reconnectMaxDelay: config.redis.reconnectMaxDelay, name, oneShot: true })
  let lastError: Error | null = null
  redis.on('error', (err: Error) => { lastError = err })
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
    const seen = lastError as Error | null
    const reason = seen !== null ? ((seen as NodeJS.ErrnoException).code ?? seen.message) : (err as Error).message
    throw new MeshError('MESH_ERR_REGISTRY_UNREACHABLE',
      `cannot reach the registry at ${redactUrl(url)} (${reason}); start redis-server or point --redis / MESH_REDIS_URL at it`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
  return redis
}

export async function openSession (config: Config): Promise<Session> {
  const main = await connect(config, 'mesh-cli')
  const extra: Redis[] = [main]
  return {
    config,
    store: new RegistryStore(main, config.redis.prefix, Number(config.registry.streamMaxLen)),
    newRedis: async (name) => {
      const r = await connect(config, name)
      extra.push(r)
      return r
    },
    close: async () => {
      await Promise.all(extra.map(async (r) => { try { await r.quit() } catch { r.disconnect() } }))
    }
  }
}

/** Runs `fn` with a session and always closes it. */
export async function withSession<T> (config: Config, fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(config)
  try {
    return await fn(session)
  } finally {
    await session.close()
  }
}
