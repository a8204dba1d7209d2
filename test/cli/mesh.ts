/** Runs the real `mesh` CLI as a child process, and dumps the registry to check "nothing written". */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type Redis from 'ioredis'

export const MAIN = join(__dirname, '..', '..', 'lib', 'cli', 'main.js')

export interface Result { code: number | null, stdout: string, stderr: string }

export async function mesh (url: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      // NODE_OPTIONS: tap's own loaders are not for the CLI under test.
      env: { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: url, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code, stdout, stderr }) })
  })
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
