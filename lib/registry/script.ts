/**
 * Read-only Lua scripts, sent as EVALSHA_RO (EVAL_RO the first time on a
 * connection): Redis checks a script's declared keys as written to unless it
 * is read-only, and a worker's credential may only read the registry.
 * (ioredis's defineCommand always sends EVALSHA.)
 */
import { createHash } from 'node:crypto'
import type Redis from 'ioredis'

export type ScriptFn = (...args: Array<string | number>) => Promise<unknown>

export function readOnlyScript (redis: Redis, lua: string, numberOfKeys: number): ScriptFn {
  const sha = createHash('sha1').update(lua).digest('hex')
  return async (...args) => {
    try {
      return await redis.call('EVALSHA_RO', sha, numberOfKeys, ...args)
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err
      return await redis.call('EVAL_RO', lua, numberOfKeys, ...args)
    }
  }
}
