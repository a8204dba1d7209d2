/**
 * `mesh init [--advertise ADDR] [--name NAME] [--redis URL] [--admin HOST:PORT]
 *  [--state-dir DIR] [--set key=value]... [--registry-only]`, as `docker swarm init`:
 *
 * founds a cluster in the registry (its epoch, README "Restore and epochs";
 * refused over an existing cluster or a flushed one whose nodes are
 * restoring it) with its join tokens (the joiner Redis users), makes this
 * node its first manager (its own Redis user, its credential in
 * DIR/node.json, mode 0600) and starts its daemon in the background; then
 * prints the `mesh join` line for workers. With --redis the registry is the
 * Redis at that URL (its admin credential: init creates users there);
 * without, a private redis-server is started as `mesh up` does, bound to the
 * advertise address. --registry-only founds the cluster and starts no node
 * (nodes then join with a token, or run on the admin credential).
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { foundCluster, startMember } from '../../cluster/members'
import { startPrivateRedis } from '../../cluster/private-redis'
import { loadConfig } from '../../config/load'
import type { Config } from '../../config/schema'
import { MeshError } from '../../errors'
import { daemonMarker, stopProcess, waitReady } from '../../node/daemon'
import { formatToken } from '../../node/join-token'
import { joinAddress, logFile, readNodeState, removeNodeState } from '../../node/state-dir'
import { parseLease } from '../../scheduler/lease'
import { redactUrl } from '../../util/redact'
import { bool, cliConfig, list, parseFlags, parseSetFlags, str, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'init',
  usage: '[--advertise ADDR] [--name NAME] [--redis URL] [--admin HOST:PORT] [--state-dir DIR] [--set key=value]... [--registry-only]',
  options: {
    advertise: { type: 'string', value: 'ADDR', description: 'Address other nodes and clients reach this node on', default: 'node.advertise' },
    name: { type: 'string', value: 'NAME', description: 'This node\'s name', default: 'the host name' },
    admin: { type: 'string', value: 'HOST:PORT', description: 'Admin listener (/metrics, /healthz) of this node' },
    'state-dir': { type: 'string', value: 'DIR', description: 'Where this node keeps its identity and credential', default: '.mesh' },
    set: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'A configuration key for the cluster\'s commands and this node (e.g. redis.prefix=lab:)' },
    'registry-only': { type: 'boolean', description: 'Found the cluster and its join tokens; start no node here' }
  },
  positionals: { min: 0, max: 0, what: '' }
}

/** How long init waits for its node to be ready and lead. */
const READY_MS = 30_000

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const v = parsed.values
  const set = parseSetFlags(list(v, 'set'))
  const stateDir = resolve(str(v, 'state-dir') ?? '.mesh')
  const registryOnly = bool(v, 'registry-only')
  const here = registryOnly ? null : readNodeState(stateDir)
  if (here !== null) {
    throw new MeshError('MESH_ERR_CLUSTER', `This node is already part of a cluster (node ${here.name}, ${stateDir}). Use "mesh leave" to leave it before you init another one.`)
  }
  const base = cliConfig(v)
  const config = loadConfig({ cluster: { file: '--set', values: { ...set, ...(str(v, 'redis') !== undefined ? { 'redis.url': str(v, 'redis') as string } : {}) } } })
  // The registry: --redis, or one MESH_REDIS_URL / a config file names; else a private redis-server.
  const given = str(v, 'redis') ?? (base.redis.url !== loadConfig({ env: {} }).redis.url ? base.redis.url : null)
  const advertise = str(v, 'advertise') ?? config.node.advertise
  const name = str(v, 'name') ?? config.node.name
  if (!registryOnly) mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const priv = given === null ? await startPrivateRedis(ensureDir(join(stateDir, 'registry')), advertise, config.redis.prefix) : null
  const url = given ?? (priv as { url: string }).url
  const adminConfig = loadConfig({ cluster: { file: '--set', values: { ...set, 'redis.url': url } } })
  const daemon: { started: { pid: number, name: string } | null } = { started: null }
  try {
    return await initIn(adminConfig, url)
  } catch (err) {
    // Nothing left half-done: the daemon, its credential, the private registry.
    if (daemon.started !== null) await stopProcess(daemon.started.pid, daemonMarker(daemon.started.name), 5000)
    if (!registryOnly) removeNodeState(stateDir)
    if (priv !== null) await stopProcess(priv.pid, 'redis-server', 5000)
    throw err
  }

  async function initIn (adminConfig: Config, url: string): Promise<number> {
  return await withSession(adminConfig, async ({ store }) => {
    const { epoch, secrets } = await foundCluster(store, url, true)
    const joinLine = `mesh join --token ${formatToken(epoch, secrets.worker)}${prefixFlag(store.keys.prefix)} ${joinAddress(url)}`
    if (registryOnly) {
      const admin = priv === null ? '' : `Its admin credential is in ${join(priv.dir, 'admin.url')} (readable only by you).\n`
      process.stdout.write(`Cluster created in the registry at ${redactUrl(url)} (epoch ${epoch}).\n${admin}\n` +
        `To add a worker to this cluster, run the following command:\n\n    ${joinLine}\n\n` +
        'To add a manager to this cluster, run \'mesh join-token manager\' with this registry and follow the instructions.\n')
      return 0
    }
    const log = logFile(stateDir)
    const started = await startMember(store, url, epoch, { name, addr: advertise, role: 'manager', admin: str(v, 'admin') ?? '', stateDir, log }, set, process.cwd(),
      priv === null ? {} : { redisPid: priv.pid, redisDir: priv.dir })
    daemon.started = { pid: started.pid, name }
    // Joins need a leader to answer them: wait until this node leads.
    await waitReady(store, { id: started.id, name, pid: started.pid, log }, READY_MS,
      async () => parseLease(await store.redis.get(store.keys.lease))?.nodeId === started.id)
    process.stdout.write(`Cluster initialized: current node (${started.id}) is now a manager.\n\n` +
      `To add a worker to this cluster, run the following command:\n\n    ${joinLine}\n\n` +
      'To add a manager to this cluster, run \'mesh join-token manager\' and follow the instructions.\n\n')
    return 0
  })
  }
}

function ensureDir (dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

/** A cluster under another prefix than the default: its join line says so. */
export function prefixFlag (prefix: string): string {
  return prefix === 'mesh:' ? '' : ` --set redis.prefix=${prefix}`
}
