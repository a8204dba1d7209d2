/** Runs the real `mesh` CLI as a child process, and dumps the registry to check "nothing written". */
import type Redis from 'ioredis'
import { runMesh, type RunResult } from '../helpers/mesh'

export { CLI as MAIN } from '../helpers/mesh'

export type Result = RunResult

/** `mesh ARGS` with MESH_REDIS_URL pointing at the test's registry. */
export async function mesh (url: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return await runMesh(args, { env: { MESH_REDIS_URL: url, ...env } })
}

/** Every registry key with its content (revision, records, change count): equal dumps = nothing written. */
export async function dump (redis: Redis, prefix = 'mesh:'): Promise<string> {
  const keys = (await redis.keys(`${prefix}*`)).filter((k) => !k.startsWith(`${prefix}hb:`)).sort()
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    const type = await redis.type(k)
    if (type === 'hash') out[k] = await redis.hgetall(k)
    else if (type === 'string') out[k] = await redis.get(k)
    else if (type === 'stream') out[k] = await redis.xlen(k)
    else out[k] = type
  }
  return JSON.stringify(out)
}

/** Runs many CLI invocations, a few at a time; results in order. */
export async function meshAll (url: string, runs: string[][], parallel = 4): Promise<Result[]> {
  const out: Result[] = new Array(runs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const i = next++
      out[i] = await mesh(url, runs[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, runs.length) }, worker))
  return out
}
