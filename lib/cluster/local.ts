/**
 * A single-machine cluster (`mesh up` / `mesh down`): N node daemons on
 * 127.0.0.1..N, the first a manager, sharing one Redis registry: the one at
 * --redis, or a private redis-server on a free port without persistence.
 * Everything it starts, and the cluster's client configuration, is recorded
 * in .mesh/cluster.json (cluster-file.ts); `mesh down` stops exactly those
 * processes (each checked by its command line first, so a recycled pid is
 * never signalled).
 *
 * The node daemons run in the same directory and read their configuration
 * from that file like any `mesh` command there: nothing of it (the Redis
 * URL and its password, the --set values) is on their command line.
 */
import { spawn } from 'node:child_process'
import { debuglog } from 'node:util'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, relative } from 'node:path'
import { envWithout, loadConfig } from '../config/load'
import type { Config } from '../config/schema'
import { MeshError } from '../errors'
import { createRedis } from '../registry/client'
import { nodeIdFor } from '../registry/ids'
import { redactUrl } from '../util/redact'
import { RegistryStore } from '../registry/store'
import { killOrphans, ownerTag } from '../agent/orphans'
import { clusterFilePath, readClusterFile, stateDir, writeClusterFile, type ClusterFile, type ClusterNode } from './cluster-file'

export const MESH_CLI = join(__dirname, '..', 'cli', 'main.js')

const debug = debuglog('mesh:cluster')

export interface UpOptions {
  nodes: number
  /** --redis URL; null: start a private redis-server. */
  redis: string | null
  basePort: number
  /** Where `mesh up` runs: the state goes to <cwd>/.mesh, the daemons run here. */
  cwd: string
  /** `--set key=value` by dotted key, for every node and every command run in `cwd` (tests use faster timings). */
  set?: Record<string, string>
  waitMs?: number
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** The configuration a cluster file describes (its layer over the defaults). */
function clusterConfig (dir: string, values: Record<string, string>): Config {
  return loadConfig({ env: {}, cluster: { file: clusterFilePath(dir), values } })
}

/** True when `pid` is alive and its command line contains `marker` (so a recycled pid is not ours). */
export function isOurs (pid: number, marker: string): boolean {
  if (!(pid > 0)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)
  } catch {
    try {
      process.kill(pid, 0)
      return true // no /proc: trust the recorded pid
    } catch {
      return false
    }
  }
}

const nodeMarker = (n: ClusterNode): string => `node start --name ${n.name} `
const redisMarker = 'redis-server'

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0) })
    })
  })
}

async function startRedis (dir: string): Promise<{ url: string, pid: number }> {
  const port = await freePort()
  const log = openSync(join(dir, 'redis.log'), 'a')
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  const failed = new Promise<Error>((resolve) => { child.once('error', resolve) })
  const spawned = await Promise.race([failed, sleep(100).then(() => null)])
  if (spawned !== null || child.pid === undefined) {
    throw new MeshError('MESH_ERR_CLUSTER', `cannot start redis-server (${spawned?.message ?? 'no pid'}): install it (apt-get install redis-server) or pass --redis URL`)
  }
  child.unref()
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid }
}

/**
 * Founds the cluster in its registry (the epoch: only cluster creation makes
 * one, README "Restore and epochs") before any node starts, or joins the
 * one a --redis registry already holds. Retries while a just-started
 * redis-server comes up.
 */
async function foundCluster (config: Config, ms: number): Promise<void> {
  const redis = createRedis({ ...config.redis, reconnectMaxDelay: 200, name: 'mesh-up' })
  let last: Error | null = null
  redis.on('error', (err: Error) => { last = err; debug('mesh up: registry %s', err.message) })
  const deadline = Date.now() + ms
  try {
    for (;;) {
      try {
        if (redis.status === 'wait') await redis.connect()
        const { created, epoch } = await new RegistryStore(redis, config.redis.prefix).createCluster()
        debug('mesh up: %s cluster epoch %s', created ? 'founded' : 'joined', epoch)
        return
      } catch (err) {
        last = err as Error
        if (Date.now() > deadline) {
          throw new MeshError('MESH_ERR_CLUSTER', `cannot reach the registry at ${redactUrl(config.redis.url)} (${(last as NodeJS.ErrnoException).code ?? last.message})`, { cause: err })
        }
        await sleep(100)
      }
    }
  } finally {
    redis.disconnect()
  }
}

/** Polls until every node heartbeats; throws naming a node that exited or never appeared. */
async function waitAlive (config: Config, nodes: ClusterNode[], ms: number): Promise<void> {
  const redis = createRedis({ ...config.redis, reconnectMaxDelay: 200, name: 'mesh-up' })
  redis.on('error', (err: Error) => { debug('mesh up: registry %s', err.message) })
  const store = new RegistryStore(redis, config.redis.prefix)
  const deadline = Date.now() + ms
  try {
    await redis.connect().catch((err: Error) => { debug('mesh up: first connect failed (%s); polling on', err.message) })
    for (;;) {
      const dead = nodes.find((n) => !isOurs(n.pid, nodeMarker(n)))
      if (dead !== undefined) {
        throw new MeshError('MESH_ERR_CLUSTER', `node ${dead.name} exited during start-up; see ${dead.log}:\n${tail(dead.log)}`)
      }
      const alive = await store.beating(nodes.map((n) => nodeIdFor(n.name))).catch(() => new Set<string>())
      const missing = nodes.filter((n) => !alive.has(nodeIdFor(n.name)))
      if (missing.length === 0) return
      if (Date.now() > deadline) {
        throw new MeshError('MESH_ERR_CLUSTER', `nodes ${missing.map((n) => n.name).join(', ')} did not register within ${ms} ms; see ${missing[0].log}:\n${tail(missing[0].log)}`)
      }
      await sleep(200)
    }
  } finally {
    redis.disconnect()
  }
}

function tail (file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-10).map((l) => `  ${l}`).join('\n')
  } catch {
    return '  (no log)'
  }
}

export async function up (options: UpOptions): Promise<ClusterFile> {
  const dir = stateDir(options.cwd)
  const existing = readClusterFile(dir)
  if (existing !== null && existing.nodes.some((n) => isOurs(n.pid, nodeMarker(n)))) {
    throw new MeshError('MESH_ERR_CLUSTER', `a cluster started here is still running (${clusterFilePath(dir)}); run mesh down first`)
  }
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 254) {
    throw new MeshError('MESH_ERR_USAGE', `--nodes ${options.nodes}: use a whole number from 1 to 254 (nodes live on 127.0.0.1..N)`)
  }
  const set = options.set ?? {}
  // A bad --set is refused here, before any process starts (each node would refuse it too, later).
  clusterConfig(dir, set)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const given = options.redis ?? set['redis.url'] ?? null
  const priv = given === null ? await startRedis(dir) : null
  const file: ClusterFile = { version: 1, config: { ...set, 'redis.url': given ?? priv!.url }, redisPid: priv?.pid ?? 0, nodes: [], startedAt: new Date().toISOString() }
  const save = (): void => { writeClusterFile(dir, file) }
  save()
  try {
    const config = clusterConfig(dir, file.config)
    await foundCluster(config, 5000)
    // The daemons read the cluster file; a MESH_* variable of this shell for the same key must not win over it.
    const env = envWithout(Object.keys(file.config))
    for (let i = 1; i <= options.nodes; i++) {
      const name = `node${i}`
      const addr = `127.0.0.${i}`
      const admin = `${addr}:${options.basePort}`
      const logPath = join(dir, `${name}.log`)
      const args = [MESH_CLI, 'node', 'start', '--name', name, '--advertise', addr, '--admin', admin, ...(i === 1 ? ['--manager'] : [])]
      const log = openSync(logPath, 'a', 0o600)
      const child = spawn(process.execPath, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', log, log] })
      closeSync(log)
      if (child.pid === undefined) throw new MeshError('MESH_ERR_CLUSTER', `cannot start node ${name}`)
      child.unref()
      file.nodes.push({ name, addr, admin, pid: child.pid, log: logPath, manager: i === 1 })
      save()
    }
    await waitAlive(config, file.nodes, options.waitMs ?? 20_000)
  } catch (err) {
    await down(dir).catch(() => {})
    throw err
  }
  return file
}

/** Stops what `up` started here; returns what it stopped. */
export async function down (dir: string, graceMs = 20_000): Promise<{ file: ClusterFile, stopped: string[] }> {
  const file = readClusterFile(dir)
  if (file === null) throw new MeshError('MESH_ERR_CLUSTER', `no cluster was started here (${relative(process.cwd(), clusterFilePath(dir)) || clusterFilePath(dir)} not found)`)
  const stopped: string[] = []
  const targets = file.nodes.filter((n) => isOurs(n.pid, nodeMarker(n)))
  await stopAll(targets.map((n) => ({ pid: n.pid, marker: nodeMarker(n) })), graceMs)
  stopped.push(...targets.map((n) => n.name))
  sweepTasks(clusterConfig(dir, file.config), file)
  if (file.redisPid > 0 && isOurs(file.redisPid, redisMarker)) {
    await stopAll([{ pid: file.redisPid, marker: redisMarker }], 5000)
    stopped.push('redis-server')
  }
  rmSync(clusterFilePath(dir), { force: true })
  return { file, stopped }
}

/**
 * Once the nodes are down, any task process still carrying the owner tag
 * of one of our nodes (a daemon SIGKILLed together with its supervisors)
 * is killed: found by its environment, with or without the registry.
 */
function sweepTasks (config: Config, file: ClusterFile): void {
  for (const n of file.nodes) {
    const killed = killOrphans(ownerTag(config.redis.url, config.redis.prefix, nodeIdFor(n.name)), new Set())
    if (killed.length > 0) debug('mesh down: killed %d task process(es) of %s', killed.length, n.name)
  }
}

/** SIGTERM each, wait up to `graceMs` for all to exit, SIGKILL what is left. */
async function stopAll (procs: Array<{ pid: number, marker: string }>, graceMs: number): Promise<void> {
  for (const p of procs) {
    try { process.kill(p.pid, 'SIGTERM') } catch { /* gone */ }
  }
  const deadline = Date.now() + graceMs
  while (procs.some((p) => isOurs(p.pid, p.marker)) && Date.now() < deadline) await sleep(100)
  for (const p of procs) {
    if (isOurs(p.pid, p.marker)) {
      try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
    }
  }
}
