/**
 * Shared pieces of the registry fault tests: a cluster of real node daemons
 * (MeshNode: `mesh node start` processes) on a real redis-server, a bounded
 * steady load on every node, and the registry's records as a comparable dump.
 */
import { Agent, request } from 'node:http'
import type { Test } from 'tap'
import { RegistryStore } from '../../lib/registry/store'
import type { TaskRecord } from '../../lib/registry/types'
import { httpGet, MeshNode, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

/** Scheduler timings for a cluster that would replace lost tasks within a couple of seconds. */
export const SCHEDULER = ['scheduler.reconcileInterval=300ms', 'scheduler.leaseTtl=2s', 'tasks.restartDelay=200ms']

export interface Cluster {
  redis: TestRedis
  store: RegistryStore
  nodes: MeshNode[]
}

/** `names.length` daemons, the first `managers` of them managers, on a new cluster. */
export async function startCluster (t: Test, names: string[], o: { managers?: number, set?: string[] } = {}): Promise<Cluster> {
  const redis = await TestRedis.start()
  const conn = redis.client()
  const store = new RegistryStore(conn, 'mesh:')
  const nodes: MeshNode[] = []
  t.teardown(async () => {
    await Promise.all(nodes.map(async (n) => await n.stop()))
    conn.disconnect()
    await redis.close()
  })
  const extra = [...SCHEDULER, ...(o.set ?? [])].flatMap((kv) => ['--set', kv])
  for (const [i, name] of names.entries()) {
    nodes.push(await MeshNode.start(name, loopback(), redis.url, [...extra, ...(i < (o.managers ?? 1) ? ['--manager'] : [])]))
  }
  return { redis, store, nodes }
}

/** Creates `name` with `replicas` real `mesh whoami` tasks on a free published port; resolves once every node serves it. */
export async function whoamiService (c: Cluster, name: string, replicas: number): Promise<{ port: number, tasks: TaskRecord[] }> {
  const port = await freePort('127.0.0.1')
  await meshOk(['service', 'create', '--name', name, '--replicas', String(replicas), '--publish', `${port}:80`, '--', 'mesh', 'whoami'], c.redis.url)
  const tasks = await runningTasks(c.store, name, replicas)
  for (const n of c.nodes) {
    await waitFor(async () => (await httpGet(`http://${n.addr}:${port}/`)).status === 200, { timeout: 15_000, what: `${name} served by ${n.name}` })
  }
  return { port, tasks }
}

export async function runningTasks (store: RegistryStore, service: string, n: number, timeout = 20_000): Promise<TaskRecord[]> {
  return await waitFor(async () => {
    const live = [...(await store.snapshot()).tasks.values()].filter((x) => x.service === service && x.desired === 'running')
    return live.length === n && live.every((x) => x.state === 'running') ? live : null
  }, { timeout, what: `${n} running tasks of ${service}` })
}

/** The records (services, tasks, nodes) exactly as stored, keys sorted: equal dumps = equal registries. */
export async function records (store: RegistryStore): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {}
  for (const hash of [store.keys.services, store.keys.tasks, store.keys.nodes]) {
    const all = await store.redis.hgetall(hash)
    out[hash] = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a < b ? -1 : 1))
  }
  return out
}

/** The registry has an epoch and no restore window is open. */
export async function settled (store: RegistryStore): Promise<boolean> {
  const s = await store.snapshot()
  return s.epoch !== '' && s.restoring === null
}

export interface LoadResult { ok: number, failed: number, statuses: Record<string, number>, firstFailure: string }

/**
 * Steady load: `concurrency` keep-alive requests at a time to `url`, a short
 * pause between requests, bounded by `maxRequests` and `maxMs`.
 */
export class Load {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 })
  readonly #running: Promise<void>
  #stopped = false
  readonly result: LoadResult = { ok: 0, failed: 0, statuses: {}, firstFailure: '' }

  constructor (url: string, { concurrency = 2, pauseMs = 5, maxRequests = 20_000, maxMs = 120_000 } = {}) {
    const deadline = Date.now() + maxMs
    const r = this.result
    const worker = async (): Promise<void> => {
      while (!this.#stopped && r.ok + r.failed < maxRequests && Date.now() < deadline) {
        const outcome = await this.#one(url)
        r.statuses[outcome] = (r.statuses[outcome] ?? 0) + 1
        if (outcome === '200') r.ok++
        else {
          r.failed++
          if (r.firstFailure === '') r.firstFailure = `${new Date().toISOString()} ${outcome}`
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    }
    this.#running = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {})
  }

  async #one (url: string): Promise<string> {
    return await new Promise((resolve) => {
      const req = request(url, { agent: this.#agent, timeout: 10_000 }, (res) => {
        res.resume()
        res.on('end', () => { resolve(String(res.statusCode)) })
        res.on('error', (err) => { resolve(`error ${err.message}`) })
      })
      req.on('timeout', () => { req.destroy(new Error('timeout')) })
      req.on('error', (err: NodeJS.ErrnoException) => { resolve(`error ${err.code ?? err.message}`) })
      req.end()
    })
  }

  async stop (): Promise<LoadResult> {
    this.#stopped = true
    await this.#running
    this.#agent.destroy()
    return this.result
  }
}

/** Starts a Load on `port` of every node (stopped with the test at the latest). */
export function loadAll (t: Test, c: Cluster, port: number, o: ConstructorParameters<typeof Load>[1] = {}): Load[] {
  const loads = c.nodes.map((n) => new Load(`http://${n.addr}:${port}/`, o))
  t.teardown(async () => { await stopAll(loads) })
  return loads
}

export async function stopAll (loads: Load[]): Promise<LoadResult> {
  const total: LoadResult = { ok: 0, failed: 0, statuses: {}, firstFailure: '' }
  for (const r of await Promise.all(loads.map(async (l) => await l.stop()))) {
    total.ok += r.ok
    total.failed += r.failed
    for (const [k, v] of Object.entries(r.statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + v
    if (total.firstFailure === '') total.firstFailure = r.firstFailure
  }
  return total
}
