/**
 * `mesh join --token TOKEN ADDR [--advertise ADDR] [--name NAME] [--admin HOST:PORT]
 *  [--state-dir DIR] [--set key=value]...`, as `docker swarm join`:
 *
 * asks the cluster whose registry is at ADDR (HOST:PORT, or a redis URL
 * without credentials) for a node of its own, with the role the token
 * grants (node/join-client.ts), keeps the credential it gets in
 * DIR/node.json (mode 0600), and starts this node's daemon in the
 * background. A malformed, wrong or rotated token is one line, exit 1, and
 * nothing is written to the registry.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadConfig } from '../../config/load'
import { MeshError } from '../../errors'
import { spawnDaemon, waitReady } from '../../node/daemon'
import { requestJoin } from '../../node/join-client'
import { parseToken } from '../../node/join-token'
import { logFile, readNodeState, registryUrl, stateConfig, writeNodeState, type NodeState } from '../../node/state-dir'
import { list, parseFlags, parseSetFlags, str, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'join',
  usage: '--token TOKEN [--advertise ADDR] [--name NAME] [--admin HOST:PORT] [--state-dir DIR] [--set key=value]... ADDR',
  options: {
    token: { type: 'string', value: 'TOKEN', description: 'Token for entry into the cluster (mesh join-token worker|manager on a manager prints it)' },
    advertise: { type: 'string', value: 'ADDR', description: 'Address other nodes and clients reach this node on', default: 'the address this machine reaches the registry from' },
    name: { type: 'string', value: 'NAME', description: 'This node\'s name', default: 'the host name' },
    admin: { type: 'string', value: 'HOST:PORT', description: 'Admin listener (/metrics, /healthz) of this node' },
    'state-dir': { type: 'string', value: 'DIR', description: 'Where this node keeps its identity and credential', default: '.mesh' },
    set: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'A configuration key for this node (e.g. redis.prefix=lab: when the cluster uses one)' }
  },
  positionals: { min: 1, max: 1, what: 'the registry address (HOST:PORT or a redis URL)' }
}

/** A manager answers within milliseconds; this covers a leader failing over meanwhile. */
const ANSWER_MS = 20_000
const READY_MS = 30_000

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const v = parsed.values
  const text = str(v, 'token')
  if (text === undefined) throw new MeshError('MESH_ERR_USAGE', 'mesh join needs --token TOKEN (mesh join-token worker on a manager prints the whole command)')
  parseToken(text) // a malformed token is refused before anything else
  const stateDir = resolve(str(v, 'state-dir') ?? '.mesh')
  const here = readNodeState(stateDir)
  if (here !== null) {
    throw new MeshError('MESH_ERR_CLUSTER', `This node is already part of a cluster (node ${here.name}, ${stateDir}). Use "mesh leave" to leave it and join another one.`)
  }
  const set = parseSetFlags(list(v, 'set'))
  const registry = registryUrl(parsed.positionals[0])
  const config = loadConfig({ cluster: { file: '--set', values: { ...set, 'redis.url': registry } } })
  const name = str(v, 'name') ?? config.node.name
  const grant = await requestJoin({ token: text, registry, name, addr: str(v, 'advertise') ?? null, config, timeoutMs: ANSWER_MS })
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const state: NodeState = {
    version: 1,
    cluster: grant.cluster,
    id: grant.nodeId,
    name,
    addr: grant.addr,
    role: grant.role,
    user: grant.user,
    password: grant.password,
    registry,
    config: { ...set, 'redis.prefix': config.redis.prefix },
    admin: str(v, 'admin') ?? ''
  }
  writeNodeState(stateDir, state)
  const log = logFile(stateDir)
  const pid = spawnDaemon({ name, stateDir, log, cwd: process.cwd(), keys: Object.keys(stateConfig(state)) })
  const own = loadConfig({ cluster: { file: '--state-dir', values: stateConfig(state) } })
  await withSession(own, async ({ store }) => { await waitReady(store, { id: grant.nodeId, name, pid, log }, READY_MS) })
  process.stdout.write(`This node joined a cluster as a ${grant.role}.\n`)
  return 0
}
