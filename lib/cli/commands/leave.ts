/**
 * `mesh leave [--force] [--state-dir DIR]`, as `docker swarm leave`: the
 * node this directory holds leaves its cluster. Its daemon is stopped the
 * way SIGTERM stops a node (README "Shutdown"): its tasks leave every
 * routing table while they still run, the scheduler replaces them on the
 * other nodes, the listeners drain, the tasks stop, the node deregisters
 * (`mesh node ls` on a manager shows it Down) and the daemon exits 0. Then
 * its credential is deleted here. The last manager may only leave with
 * --force (the cluster could no longer be managed), as in Swarm; it then
 * also stops the private redis-server `mesh init` started for it.
 */
import { resolve } from 'node:path'
import { loadConfig } from '../../config/load'
import { MeshError } from '../../errors'
import { daemonMarker, runningDaemon, stopProcess } from '../../node/daemon'
import { readNodeState, removeNodeState, stateConfig, stateFile } from '../../node/state-dir'
import { bool, parseFlags, str, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'leave',
  usage: '[--force] [--state-dir DIR]',
  options: {
    force: { type: 'boolean', short: 'f', description: 'Force this node to leave the cluster, even when it is the last manager' },
    'state-dir': { type: 'string', value: 'DIR', description: 'The node\'s state directory', default: '.mesh' }
  },
  positionals: { min: 0, max: 0, what: '' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const force = bool(parsed.values, 'force')
  const dir = resolve(str(parsed.values, 'state-dir') ?? '.mesh')
  const state = readNodeState(dir)
  if (state === null) throw new MeshError('MESH_ERR_CLUSTER', `This node is not part of a cluster (no ${stateFile(dir)})`)
  const config = loadConfig({ cluster: { file: stateFile(dir), values: stateConfig(state) } })
  // Is it the last manager? (If the registry cannot be reached, the daemon is still stopped, with --force.)
  const last = await withSession(config, async ({ store }) => {
    const snap = await store.snapshot()
    if (snap.nodes.get(state.id)?.role !== 'manager') return false
    const managers = [...snap.nodes.values()].filter((n) => n.role === 'manager' && n.status === 'ready' && n.id !== state.id)
    const beating = await store.beating(managers.map((n) => n.id))
    return !managers.some((n) => beating.has(n.id))
  }).catch((err: unknown) => { if (force) return true; throw err })
  if (last && !force) {
    throw new MeshError('MESH_ERR_LAST_MANAGER', 'You are attempting to leave the cluster on a node that is participating as a manager. ' +
      'Removing the last manager erases all current state of the cluster. Use `--force` to ignore this message.')
  }
  const pid = runningDaemon(dir, state.name)
  // The daemon's own shutdown drains the node; give it its grace, a heartbeat TTL to leave the tables, and the tasks' stop.
  const grace = config.node.shutdownGrace + config.node.heartbeatTtl + config.tasks.drainDelay + config.tasks.stopGrace + 5000
  if (pid !== null) await stopProcess(pid, daemonMarker(state.name), grace)
  removeNodeState(dir)
  // The private registry mesh init started goes with the last manager.
  if (last && state.redisPid !== undefined) await stopProcess(state.redisPid, 'redis-server', 5000)
  process.stdout.write('Node left the cluster.\n')
  return 0
}
