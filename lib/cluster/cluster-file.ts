/**
 * `.mesh/cluster.json`: the local cluster `mesh up` started in a directory.
 * It holds what `mesh down` must stop (node daemons, the private
 * redis-server) and the cluster's whole client configuration (`redis.url`,
 * and every `--set` given to `mesh up`, e.g. `redis.prefix`), which every
 * `mesh` command and node daemon run in that directory loads through
 * localConfig(), the one place that reads it.
 *
 * The file holds the Redis URL with any password: it is written mode 0600
 * (to a temporary file renamed over the old one, so a reader never sees
 * half a file and the mode is never wider).
 */
import { isObject, readPrivateJson, writePrivateJson } from '../util/private-file'
import { join } from 'node:path'
import { loadConfig, type LoadOptions } from '../config/load'
import type { Config } from '../config/schema'
import { MeshError } from '../errors'
import { readNodeState, stateConfig, stateFile, type NodeState } from '../node/state-dir'

export interface ClusterNode { name: string, addr: string, admin: string, pid: number, log: string, manager: boolean, /** its node id (from when mesh up provisioned it) */ id?: string }

export interface ClusterFile {
  version: 1
  /** The cluster's client configuration by dotted key (`redis.url`, `redis.prefix`, ...): the layer above config/default.yaml. */
  config: Record<string, string>
  /** pid of the private redis-server, or 0 when --redis was given. */
  redisPid: number
  nodes: ClusterNode[]
  startedAt: string
}

export function stateDir (cwd: string): string { return join(cwd, '.mesh') }

export function clusterFilePath (dir: string): string { return join(dir, 'cluster.json') }

function invalid (file: string, what: string): MeshError {
  return new MeshError('MESH_ERR_CLUSTER', `${file}: ${what}; remove it after stopping the processes it names (or run mesh down with the mesh that wrote it)`)
}

const isPid = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0

function decodeNode (file: string, v: unknown, i: number): ClusterNode {
  if (!isObject(v)) throw invalid(file, `nodes[${i}] is not an object`)
  for (const k of ['name', 'addr', 'admin', 'log'] as const) if (typeof v[k] !== 'string') throw invalid(file, `nodes[${i}].${k} is not a string`)
  if (!isPid(v.pid)) throw invalid(file, `nodes[${i}].pid is not a process id`)
  if (typeof v.manager !== 'boolean') throw invalid(file, `nodes[${i}].manager is not true or false`)
  if (v.id !== undefined && typeof v.id !== 'string') throw invalid(file, `nodes[${i}].id is not a string`)
  return { name: v.name as string, addr: v.addr as string, admin: v.admin as string, pid: v.pid, log: v.log as string, manager: v.manager, ...(typeof v.id === 'string' ? { id: v.id } : {}) }
}

/** Decodes and checks a cluster file's text; throws MESH_ERR_CLUSTER naming the bad field. */
export function decodeClusterFile (file: string, text: string): ClusterFile {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw invalid(file, `not valid JSON (${(err as Error).message})`)
  }
  if (!isObject(doc)) throw invalid(file, 'not a JSON object')
  if (doc.version !== 1) throw invalid(file, `version ${JSON.stringify(doc.version)} is not 1 (written by another version of mesh)`)
  if (!isObject(doc.config) || !Object.values(doc.config).every((x) => typeof x === 'string')) throw invalid(file, 'config is not an object of strings')
  if (!isPid(doc.redisPid)) throw invalid(file, 'redisPid is not a process id')
  if (!Array.isArray(doc.nodes)) throw invalid(file, 'nodes is not a list')
  if (typeof doc.startedAt !== 'string') throw invalid(file, 'startedAt is not a string')
  return { version: 1, config: doc.config as Record<string, string>, redisPid: doc.redisPid, nodes: doc.nodes.map((n, i) => decodeNode(file, n, i)), startedAt: doc.startedAt }
}

/** The cluster file in `dir` (a `.mesh` directory), or null when there is none. */
export function readClusterFile (dir: string): ClusterFile | null {
  return readPrivateJson(clusterFilePath(dir), decodeClusterFile)
}

/** Writes the cluster file, mode 0600, atomically. */
export function writeClusterFile (dir: string, cluster: ClusterFile): void {
  writePrivateJson(clusterFilePath(dir), cluster)
}

/**
 * The configuration of a `mesh` command or node daemon run in `cwd`:
 * config/default.yaml < the cluster file of `mesh up` in `cwd` (if any), or
 * the node that `mesh init` / `mesh join` made there (its own credential:
 * node/state-dir.ts) < --config FILE < MESH_* env < flags.
 */
export function localConfig (cwd: string, options: Omit<LoadOptions, 'cluster'> = {}): Config {
  const dir = stateDir(cwd)
  const node = readNodeState(dir)
  if (node !== null) return loadConfig({ ...options, cluster: { file: stateFile(dir), values: stateConfig(node) } })
  const cluster = readClusterFile(dir)
  return loadConfig({ ...options, cluster: cluster === null ? undefined : { file: clusterFilePath(dir), values: cluster.config } })
}

/** The node `mesh init` or `mesh join` made in `cwd` (what `mesh node ls` marks with *), or null. */
export function localNode (cwd: string): NodeState | null {
  return readNodeState(stateDir(cwd))
}
