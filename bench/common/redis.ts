import Redis from 'ioredis'
import { RegistryStore } from '../../lib/registry/store'
/** A private redis-server on a free loopback port, no persistence, stopped with the run. */
import { freePort, startProc, stopProc, tools, waitForPort, type Proc } from './procs'

export interface PrivateRedis {
  url: string
  proc: Proc
  stop: () => Promise<void>
}

export async function startRedis (cpu?: string): Promise<PrivateRedis> {
  if (tools.redis === null) throw new Error('redis-server is not installed (apt-get install redis-server)')
  const host = '127.0.0.1'
  const port = await freePort(host)
  const proc = startProc('redis-server', tools.redis, ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no'], { cpu })
  await waitForPort(host, port, 10_000, proc)
  return { url: `redis://${host}:${port}`, proc, stop: () => stopProc(proc) }
}

/** A registry store on its own connection to the bench's Redis (disconnect `client` when done). */
export async function openStore (url: string, prefix: string): Promise<{ client: Redis, store: RegistryStore }> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  return { client, store: new RegistryStore(client, prefix) }
}
