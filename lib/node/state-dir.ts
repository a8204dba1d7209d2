/**
 * A joined node's state directory (`.mesh` where `mesh init` or `mesh join`
 * ran, or `--state-dir DIR`): `node.json` holds who the node is and its own
 * registry credential (mode 0600, written whole to a temporary file renamed
 * over the old one), `node.pid` the daemon running it, `node.log` its output.
 * The daemon (`mesh node start --state-dir DIR`) and every `mesh` command run
 * there read it; nothing of it is ever on a command line.
 */
import { rmSync } from 'node:fs'
import { isObject, readPrivateJson, writePrivateJson } from '../util/private-file'
import { join } from 'node:path'
import { MeshError } from '../errors'
import type { Role } from '../registry/acl'

export interface NodeState {
  version: 1
  /** The cluster's epoch when the node joined. */
  cluster: string
  id: string
  name: string
  /** Advertise address. */
  addr: string
  /** The role it joined with (the registry's node record says what it is now). */
  role: Role
  /** Its Redis ACL user and password. */
  user: string
  password: string
  /** The registry as given to join or init, without credentials. */
  registry: string
  /** `--set` values (redis.prefix, timings...) for the daemon and the commands run here. */
  config: Record<string, string>
  /** HOST:PORT of its admin listener, '' = off. */
  admin: string
  /** mesh init without --redis: the private redis-server it started (pid, data directory). */
  redisPid?: number
  redisDir?: string
}

export const stateFile = (dir: string): string => join(dir, 'node.json')
export const pidFile = (dir: string): string => join(dir, 'node.pid')
export const logFile = (dir: string): string => join(dir, 'node.log')

function invalid (file: string, what: string): MeshError {
  return new MeshError('MESH_ERR_CLUSTER', `${file}: ${what}; this directory's node state is damaged (remove it, then join again)`)
}


export function decodeNodeState (file: string, text: string): NodeState {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw invalid(file, `not valid JSON (${(err as Error).message})`)
  }
  if (!isObject(doc)) throw invalid(file, 'not a JSON object')
  if (doc.version !== 1) throw invalid(file, `version ${JSON.stringify(doc.version)} is not 1`)
  for (const k of ['cluster', 'id', 'name', 'addr', 'user', 'password', 'registry', 'admin'] as const) {
    if (typeof doc[k] !== 'string' || (k !== 'admin' && doc[k] === '')) throw invalid(file, `${k} is not a string`)
  }
  if (doc.role !== 'worker' && doc.role !== 'manager') throw invalid(file, 'role is not worker or manager')
  if (!isObject(doc.config) || !Object.values(doc.config).every((x) => typeof x === 'string')) throw invalid(file, 'config is not an object of strings')
  if (doc.redisPid !== undefined && !(Number.isInteger(doc.redisPid) && (doc.redisPid as number) > 0)) throw invalid(file, 'redisPid is not a process id')
  if (doc.redisDir !== undefined && typeof doc.redisDir !== 'string') throw invalid(file, 'redisDir is not a string')
  return doc as unknown as NodeState
}

/** The node state in `dir`, or null when the directory holds none. */
export function readNodeState (dir: string): NodeState | null {
  return readPrivateJson(stateFile(dir), decodeNodeState)
}

/** Writes `node.json`, mode 0600, atomically. */
export function writeNodeState (dir: string, state: NodeState): void {
  writePrivateJson(stateFile(dir), state)
}

/** The node left: its credential goes (and the pid file). */
export function removeNodeState (dir: string): void {
  rmSync(stateFile(dir), { force: true })
  rmSync(pidFile(dir), { force: true })
}

/** `url` (any redis.url form) with `user:password@` in place of whatever credentials it had. */
export function withCredentials (url: string, user: string, password: string): string {
  const at = url.indexOf('://')
  if (at < 0) throw new MeshError('MESH_ERR_CONFIG', `registry address ${url} is not a URL`)
  const rest = url.slice(at + 3)
  const slash = rest.search(/[/?#]/)
  const authority = slash < 0 ? rest : rest.slice(0, slash)
  const tail = slash < 0 ? '' : rest.slice(slash)
  const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority
  const userinfo = user === '' && password === '' ? '' : `${encodeURIComponent(user)}:${encodeURIComponent(password)}@`
  return `${url.slice(0, at + 3)}${userinfo}${host}${tail}`
}

/** `url` without credentials. */
export function withoutCredentials (url: string): string {
  return withCredentials(url, '', '')
}

/** How a registry is written on a join line: `host:port` for a plain redis:// URL, the URL (no credentials) otherwise. */
export function joinAddress (url: string): string {
  const bare = withoutCredentials(url)
  const m = /^redis:\/\/([^/?#]+)\/?$/.exec(bare)
  return m === null ? bare : m[1]
}

/** The registry URL a join address stands for (a bare HOST:PORT is redis://HOST:PORT). */
export function registryUrl (address: string): string {
  return withoutCredentials(address.includes('://') ? address : `redis://${address}`)
}

/** The configuration this node's daemon and commands run with (dotted keys, for loadConfig's cluster layer). */
export function stateConfig (s: NodeState): Record<string, string> {
  return {
    ...s.config,
    'redis.url': withCredentials(s.registry, s.user, s.password),
    'node.name': s.name,
    'node.advertise': s.addr,
    'node.admin': s.admin
  }
}
