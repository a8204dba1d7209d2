/**
 * Founding a cluster and starting its members, with the registry's admin
 * credential: what `mesh init` and `mesh up` share. A cluster is founded
 * (its epoch, README "Restore and epochs") with the joiner users behind its
 * join tokens; each member started here is provisioned as a joining node
 * would be (its own Redis user and records, node/provision.ts), gets a state
 * directory holding its credential, and runs as a background daemon.
 */
import { mkdirSync } from 'node:fs'
import { MeshError } from '../errors'
import type { Role } from '../registry/acl'
import type { RegistryStore, Snapshot } from '../registry/store'
import { redactUrl } from '../util/redact'
import { spawnDaemon } from '../node/daemon'
import { ensureJoinSecrets, provisionNode, setNodeRole } from '../node/provision'
import { nodeSpecOf } from '../registry/parts'
import type { NodeRecord } from '../registry/types'
import { findNode } from '../service/lookup'
import { writeChecked } from '../service/write'
import { stateConfig, withoutCredentials, writeNodeState, type NodeState } from '../node/state-dir'

/**
 * Founds the cluster and its join tokens. `strict` (mesh init): refused over
 * a registry that holds a cluster, or keys without an epoch (flushed, its
 * nodes restoring it). Otherwise (mesh up) an existing cluster is joined.
 */
export async function foundCluster (store: RegistryStore, url: string, strict: boolean): Promise<{ epoch: string, secrets: Record<Role, string> }> {
  const where = redactUrl(url)
  if (strict) {
    const existing = await store.redis.get(store.keys.epoch)
    if (existing !== null) {
      throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} already holds a cluster (epoch ${existing}); nodes join it with mesh join --token TOKEN (mesh join-token worker on a manager prints the line)`)
    }
    let cursor = '0'
    do {
      const [next, keys] = await store.redis.scan(cursor, 'MATCH', `${store.keys.prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) {
        throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} holds keys under "${store.keys.prefix}" (${keys[0]}) but no cluster epoch: ` +
          'it was flushed or restarted empty and its nodes are restoring it; wait for them (mesh node ls) rather than found a new cluster over it')
      }
      cursor = next
    } while (cursor !== '0')
  }
  const { created, epoch } = await store.createCluster()
  if (strict && !created) throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} already holds a cluster (epoch ${epoch}), founded a moment ago`)
  let secrets: Record<Role, string>
  try {
    secrets = await ensureJoinSecrets(store)
  } catch (err) {
    if (!/NOPERM|unknown command|ERR unknown subcommand/i.test((err as Error).message)) throw err
    throw new MeshError('MESH_ERR_CLUSTER', `the credential given for ${where} may not create Redis users (ACL SETUSER: ${(err as Error).message}): ` +
      'mesh init and mesh up need the registry\'s admin credential (Redis 7 with ACLs)', { cause: err })
  }
  return { epoch, secrets }
}

export interface Member {
  name: string
  addr: string
  role: Role
  /** HOST:PORT of its admin listener, '' = off. */
  admin: string
  stateDir: string
  log: string
}

export interface StartedMember { id: string, pid: number, state: NodeState }

/**
 * Provisions `m` in the cluster `epoch` of the registry at `url` (admin
 * credential in `store`), writes its state directory and starts its daemon.
 * `set`: config values for the daemon (and commands run in its directory).
 */
export async function startMember (store: RegistryStore, url: string, epoch: string, m: Member, set: Record<string, string>, cwd: string, extra: Omit<Partial<NodeState>, 'version'> = {}): Promise<StartedMember> {
  const p = await provisionNode(store, { name: m.name, addr: m.addr, role: m.role })
  mkdirSync(m.stateDir, { recursive: true, mode: 0o700 })
  const state: NodeState = {
    version: 1,
    cluster: epoch,
    id: p.nodeId,
    name: m.name,
    addr: m.addr,
    role: m.role,
    user: p.user,
    password: p.password,
    registry: withoutCredentials(url),
    config: { ...set, 'redis.prefix': store.keys.prefix },
    admin: m.admin,
    ...extra
  }
  writeNodeState(m.stateDir, state)
  const pid = spawnDaemon({ name: m.name, stateDir: m.stateDir, log: m.log, cwd, keys: Object.keys(stateConfig(state)) })
  return { id: p.nodeId, pid, state }
}

/**
 * `mesh node promote|demote`: each node's user gets the rules of `role`
 * (its connections follow at once) and its record says so (its daemon then
 * starts or stops its scheduler). The last manager is not demoted. A node on
 * the cluster's admin credential has no user to change: its --manager flag decides.
 */
export async function changeRoles (store: RegistryStore, refs: string[], role: Role): Promise<NodeRecord[]> {
  const check = (snap: Snapshot): NodeRecord[] => {
    const nodes = refs.map((ref) => findNode(snap, ref))
    for (const n of nodes) {
      if ((n.user ?? '') === '') {
        throw new MeshError('MESH_ERR_USAGE', `node ${n.name} runs on the cluster's admin credential (mesh node start): restart it ${role === 'manager' ? 'with' : 'without'} --manager to change its role`)
      }
    }
    if (role === 'worker') {
      const managers = [...snap.nodes.values()].filter((n) => n.role === 'manager')
      if (managers.every((m) => nodes.some((n) => n.id === m.id))) {
        throw new MeshError('MESH_ERR_LAST_MANAGER', `attempting to demote the last manager of the cluster (${managers.map((m) => m.name).join(', ')}): promote another node first`)
      }
    }
    return nodes
  }
  // A promoted node gets a manager's rights before its record says manager (its daemon then competes for the lease at once).
  if (role === 'manager') for (const n of check(await store.snapshot())) await setNodeRole(store, n, role)
  const { result } = await writeChecked(store, (snap) => {
    const nodes = check(snap)
    const changed = nodes.filter((n) => n.role !== role)
    return { ops: changed.map((n) => ({ type: 'nodeSpec' as const, id: n.id, value: nodeSpecOf({ ...n, role }) })), result: nodes }
  })
  // A demoted one loses them after (its daemon stops its scheduler when its record says worker).
  if (role === 'worker') for (const n of result) await setNodeRole(store, n, role)
  return result
}
