/**
 * Creating and changing members, with a manager's (or the admin's)
 * credential: a node's own Redis user and its records, the joiner users
 * behind the join tokens, a role change, a removal. `mesh init`, `mesh up`,
 * the leader answering a join request and the node commands all go through
 * here, so every node user gets the same rules (registry/acl.ts).
 */
import { randomBytes } from 'node:crypto'
import { MeshError } from '../errors'
import { deleteUser, joinerUser, nodeUser, rulesFor, saveAcl, setPassword, setRules, setUser, joinerRules, type Role } from '../registry/acl'
import type { RegistryStore } from '../registry/store'
import { SCHEMA_VERSION, type NodeRecord } from '../registry/types'
import { newId } from '../util/ids'
import { newSecret } from './join-token'

export interface Provisioned { nodeId: string, user: string, password: string, role: Role }

export interface NewNode {
  name: string
  addr: string
  role: Role
  /** The scheduler fencing token, when the leader writes it. */
  fence?: number
}

const ROLES: readonly Role[] = ['worker', 'manager']

/** A node user's password: 192 random bits, in hex (safe in a URL). */
function newPassword (): string {
  return randomBytes(24).toString('hex')
}

/** ACL SAVE when Redis has an ACL file (the users then survive a restart); a failure to save is the caller's to log. */
export async function persistUsers (store: RegistryStore): Promise<'saved' | 'no-file'> {
  return await saveAcl(store.redis)
}

/**
 * Creates a node: its own Redis user (rules of `role`) and its records
 * (spec; status down until the node reports ready). The user is deleted
 * again when the records cannot be written.
 */
export async function provisionNode (store: RegistryStore, n: NewNode): Promise<Provisioned> {
  const nodeId = newId()
  const user = nodeUser(store.keys.prefix, nodeId)
  const password = newPassword()
  await setUser(store.redis, user, password, rulesFor(store.keys, n.role, nodeId))
  const record: NodeRecord = { v: SCHEMA_VERSION, id: nodeId, name: n.name, addr: n.addr, role: n.role, availability: 'active', joinedAt: Date.now(), status: 'down', admin: '', user }
  try {
    await store.write([{ type: 'node', id: nodeId, value: record }], n.fence === undefined ? {} : { fence: n.fence })
  } catch (err) {
    await deleteUser(store.redis, user).catch(() => 0)
    throw err
  }
  await persistUsers(store)
  return { nodeId, user, password, role: n.role }
}

/** The join-token secret of each role (created, with its joiner user, where missing). */
export async function ensureJoinSecrets (store: RegistryStore): Promise<Record<Role, string>> {
  const k = store.keys
  const stored = await store.redis.hgetall(k.joinSecrets)
  const out = {} as Record<Role, string>
  for (const role of ROLES) {
    const secret = stored[role] ?? newSecret(role)
    await setUser(store.redis, joinerUser(k.prefix, role), secret, joinerRules(k, role))
    if (stored[role] === undefined) await store.redis.hset(k.joinSecrets, role, secret)
    out[role] = secret
  }
  await persistUsers(store)
  return out
}

/** The current secret of `role` (MESH_ERR_REGISTRY_DENIED on a worker's credential, which may not read it). */
export async function joinSecret (store: RegistryStore, role: Role): Promise<string> {
  let secret: string | null
  try {
    secret = await store.redis.hget(store.keys.joinSecrets, role)
  } catch (err) {
    if (/NOPERM/.test((err as Error).message)) throw notManager()
    throw err
  }
  if (secret === null) throw new MeshError('MESH_ERR_CLUSTER', `this cluster has no ${role} join token (it was not created with mesh init or mesh up)`)
  return secret
}

/** A new secret for `role`: future joins need the new token; nodes that joined keep their credentials. */
export async function rotateJoinSecret (store: RegistryStore, role: Role): Promise<string> {
  const secret = newSecret(role)
  await setPassword(store.redis, joinerUser(store.keys.prefix, role), secret)
  await store.redis.hset(store.keys.joinSecrets, role, secret)
  await persistUsers(store)
  return secret
}

/**
 * A node's user gets the rules of `role` (promote, demote): its connections
 * follow at once. A manager demoting itself can no longer save the ACL file
 * afterwards: the next membership change by a manager saves it.
 */
export async function setNodeRole (store: RegistryStore, node: Pick<NodeRecord, 'id' | 'user'>, role: Role): Promise<void> {
  if (node.user === undefined || node.user === '') return
  await setRules(store.redis, node.user, rulesFor(store.keys, role, node.id))
  try {
    await persistUsers(store)
  } catch (err) {
    if (!(role === 'worker' && /NOPERM/.test((err as Error).message))) throw err
  }
}

/**
 * Gives every joined node's user the rules of its role as this version
 * defines them (new registry keys a node must read: a cluster founded by an
 * older version gets them on its next leader). Resolves with how many users
 * were brought in line; a node whose user is gone is left to `mesh node rm`.
 */
export async function refreshNodeRules (store: RegistryStore, nodes: Iterable<Pick<NodeRecord, 'id' | 'user' | 'role'>>): Promise<number> {
  let n = 0
  for (const node of nodes) {
    if (node.user === undefined || node.user === '') continue
    // SETUSER would create a user that is gone (revoked): only existing ones are redefined.
    if (await store.redis.call('ACL', 'GETUSER', node.user) === null) continue
    await setRules(store.redis, node.user, rulesFor(store.keys, node.role, node.id))
    n++
  }
  if (n > 0) await persistUsers(store)
  return n
}

/** Revokes a node's credential: its user is deleted (Redis closes its connections) and its report stream goes. */
export async function revokeNode (store: RegistryStore, node: Pick<NodeRecord, 'id' | 'user'>): Promise<void> {
  const k = store.keys
  if (node.user !== undefined && node.user !== '') await deleteUser(store.redis, node.user)
  await store.redis.multi().del(k.reports(node.id)).hdel(k.folded, node.id).exec()
  await persistUsers(store)
}

/** What docker says when a worker's CLI is asked to manage the cluster. */
export function notManager (): MeshError {
  return new MeshError('MESH_ERR_REGISTRY_DENIED', 'This node is not a manager. Worker nodes can\'t be used to view or modify cluster state. ' +
    'Please run this command on a manager node or promote the current node to a manager.')
}
