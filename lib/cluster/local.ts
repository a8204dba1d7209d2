/**
 * A single-machine cluster (`mesh up` / `mesh down`): `mesh init` and joins
 * in one command. N node daemons on 127.0.0.1..N, the first a manager, the
 * others workers, sharing one Redis registry: the one at --redis (its admin
 * credential), or a private redis-server on a free port without data
 * persistence (its users in an ACL file beside it, private-redis.ts). Each
 * node is provisioned as a joining node is (its own Redis user, its
 * credential in .mesh/nodes/<name>/node.json, mode 0600) and runs from that
 * state directory (members.ts). Everything started, and the cluster's
 * client configuration, is recorded in .mesh/cluster.json (cluster-file.ts);
 * `mesh down` stops exactly those processes (each checked by its command
 * line first, so a recycled pid is never signalled).
 *
 * Nothing secret (the admin credential, a node's own, the --set values) is
 * on a daemon's command line.
 */
import { debuglog } from 'node:util'
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { loadConfig } from '../config/load'
import type { Config } from '../config/schema'
import { MeshError } from '../errors'
import { createRedis } from '../registry/client'
import { nodeIdFor } from '../registry/ids'
import { redactUrl } from '../util/redact'
import { RegistryStore } from '../registry/store'
import { killOrphans, ownerTag } from '../agent/orphans'
import { daemonMarker, isOurs, MESH_CLI, stopProcess, waitReady } from '../node/daemon'
import { clusterFilePath, readClusterFile, stateDir, writeClusterFile, type ClusterFile, type ClusterNode } from './cluster-file'
import { foundCluster, startMember } from './members'
import { startPrivateRedis } from './private-redis'

export { isOurs, MESH_CLI }

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

const nodeMarker = (n: ClusterNode): string => daemonMarker(n.name)
const redisMarker = 'redis-server'

/** An admin connection to the registry, retried while a just-started redis-server comes up. */
async function adminStore (config: Config, ms: number): Promise<RegistryStore> {
  const redis = createRedis({ ...config.redis, reconnectMaxDelay: 200, name: 'mesh-up' })
  let last: Error | null = null
  redis.on('error', (err: Error) => { last = err; debug('mesh up: registry %s', err.message) })
  const deadline = Date.now() + ms
  for (;;) {
    try {
      if (redis.status === 'wait') await redis.connect()
      if (await redis.ping() === 'PONG') return new RegistryStore(redis, config.redis.prefix)
    } catch (err) {
      last = err as Error
    }
    if (Date.now() > deadline) {
      redis.disconnect()
      const why = last as Error | null
      throw new MeshError('MESH_ERR_CLUSTER', `cannot reach the registry at ${redactUrl(config.redis.url)} (${(why as NodeJS.ErrnoException | null)?.code ?? why?.message ?? 'no answer'})`)
    }
    await sleep(100)
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
  const given0 = options.set ?? {}
  // A bad --set is refused here, before any process starts (each node would refuse it too, later).
  const base = clusterConfig(dir, given0)
  // The dashboard needs an admin token: without one of the user's, the cluster gets its own (in the 0600 cluster
  // file and each node's state, never on a command line), which mesh up prints with the dashboard's address.
  const set = base.node.adminToken === '' ? { ...given0, 'node.adminToken': randomBytes(18).toString('base64url') } : given0
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const given = options.redis ?? set['redis.url'] ?? null
  const priv = given === null ? await startPrivateRedis(dir, '127.0.0.1', base.redis.prefix) : null
  const url = given ?? (priv as { url: string }).url
  const file: ClusterFile = { version: 1, config: { ...set, 'redis.url': url }, redisPid: priv?.pid ?? 0, nodes: [], startedAt: new Date().toISOString() }
  const save = (): void => { writeClusterFile(dir, file) }
  save()
  let store: RegistryStore | null = null
  try {
    const config = clusterConfig(dir, file.config)
    store = await adminStore(config, 5000)
    // Founds the cluster (or joins the one a --redis registry holds) with its join tokens, before any node starts.
    const { epoch } = await foundCluster(store, url, false)
    const { 'redis.url': _url, ...nodeSet } = set
    for (let i = 1; i <= options.nodes; i++) {
      const name = `node${i}`
      const addr = `127.0.0.${i}`
      const admin = `${addr}:${options.basePort}`
      const log = join(dir, `${name}.log`)
      const started = await startMember(store, url, epoch, { name, addr, role: i === 1 ? 'manager' : 'worker', admin, stateDir: join(dir, 'nodes', name), log }, nodeSet, options.cwd)
      file.nodes.push({ name, addr, admin, pid: started.pid, log, manager: i === 1, id: started.id })
      save()
    }
    const deadline = Date.now() + (options.waitMs ?? 20_000)
    for (const n of file.nodes) await waitReady(store, { id: n.id as string, name: n.name, pid: n.pid, log: n.log }, Math.max(1000, deadline - Date.now()))
  } catch (err) {
    await down(dir).catch(() => {})
    throw err
  } finally {
    store?.redis.disconnect()
  }
  return file
}

/** Stops what `up` started here; returns what it stopped. */
export async function down (dir: string, graceMs = 20_000): Promise<{ file: ClusterFile, stopped: string[] }> {
  const file = readClusterFile(dir)
  if (file === null) throw new MeshError('MESH_ERR_CLUSTER', `no cluster was started here (${relative(process.cwd(), clusterFilePath(dir)) || clusterFilePath(dir)} not found)`)
  const stopped: string[] = []
  const targets = file.nodes.filter((n) => isOurs(n.pid, nodeMarker(n)))
  await Promise.all(targets.map(async (n) => await stopProcess(n.pid, nodeMarker(n), graceMs)))
  stopped.push(...targets.map((n) => n.name))
  sweepTasks(clusterConfig(dir, file.config), file)
  if (file.redisPid > 0 && isOurs(file.redisPid, redisMarker)) {
    await stopProcess(file.redisPid, redisMarker, 5000)
    stopped.push('redis-server')
  }
  rmSync(join(dir, 'nodes'), { recursive: true, force: true })
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
    const killed = killOrphans(ownerTag(config.redis.url, config.redis.prefix, n.id ?? nodeIdFor(n.name)), new Set())
    if (killed.length > 0) debug('mesh down: killed %d task process(es) of %s', killed.length, n.name)
  }
}
