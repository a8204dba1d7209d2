/**
 * Least privilege with Redis's own ACLs (Redis 7: key patterns with %R~ /
 * %W~ read and write permissions). Each joined node has a Redis user of its
 * own, so one credential can be revoked without touching the others:
 *
 * - a worker reads the registry, and writes only its own heartbeat
 *   (`hb:<id>`), its own report stream (`reports:<id>`: its tasks' status and
 *   health and its own status, folded in by the leader after checking each
 *   one is its own, scripts.ts FOLD) and task log streams. It cannot write
 *   services or any desired state, take the scheduler lease, bump the fence,
 *   or write as another node; it cannot read the join-token secrets.
 * - a manager writes everything below the prefix and administers the
 *   cluster's users (it answers join requests by creating them): it holds
 *   the keys to the cluster, as a Swarm manager holds its CA.
 * - a joiner user per role, whose password is the secret of a join token,
 *   may only append to that role's join-request stream and read replies
 *   (which are encrypted to the key of the node that asked, join-protocol.ts).
 *
 * ACL rules live in Redis's memory: they survive a restart only with an ACL
 * file (`aclfile`, saved by ACL SAVE after every change here) and are not
 * replicated (each Sentinel replica needs them too; see README).
 */
import type Redis from 'ioredis'
import type { Keys } from './keys'

export type Role = 'manager' | 'worker'

/** A glob pattern matching `text` literally (ACL key patterns are globs). */
export function literal (text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

/** The prefix as part of a user name (no ':' or spaces, which URLs and ACL rules dislike). */
export function userTag (prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]/g, '-')
}

export function nodeUser (prefix: string, nodeId: string): string { return `${userTag(prefix)}node-${nodeId}` }
export function joinerUser (prefix: string, role: Role): string { return `${userTag(prefix)}join-${role}` }

/** Connection housekeeping every user needs (ioredis's ready check is INFO). */
const CONNECTION = ['+ping', '+time', '+info', '+client|setname', '+client|getname', '+client|id', '+select', '+echo', '+acl|whoami']

/** Rules (after `reset`) of a worker node's user. */
export function workerRules (k: Keys, nodeId: string): string[] {
  const readable = [k.epoch, k.rev, k.changes, k.services, k.tasks, k.taskStatus, k.health, k.nodes, k.nodeStatus, k.liveness, k.certs, k.tls,
    k.lease, k.fence, k.restore, k.restorePending]
  return [
    'resetchannels', '-@all', '+@read', '-keys', ...CONNECTION,
    '+eval', '+evalsha', '+eval_ro', '+evalsha_ro', '+multi', '+exec', '+discard',
    '+set', '+del', '+xadd',
    ...readable.map((key) => `%R~${literal(key)}`),
    `%R~${literal(k.heartbeatPrefix)}*`,
    `~${literal(k.heartbeat(nodeId))}`,
    `~${literal(k.reports(nodeId))}`,
    `~${literal(k.logPrefix)}*`
  ]
}

/** Rules of a manager node's user: everything below the prefix, and the cluster's users. */
export function managerRules (k: Keys): string[] {
  return [
    'resetchannels', '+@all', '-@dangerous', ...CONNECTION,
    '+acl|setuser', '+acl|deluser', '+acl|getuser', '+acl|users', '+acl|save', '+acl|dryrun',
    '+client|unblock', '+client|kill', '+wait',
    `~${literal(k.prefix)}*`
  ]
}

/** Rules of a joiner user: append a join request, read the encrypted replies, read the epoch. */
export function joinerRules (k: Keys, role: Role): string[] {
  return [
    'resetchannels', '-@all', ...CONNECTION, '+get', '+exists', '+xadd',
    `%R~${literal(k.epoch)}`, `%R~${literal(k.joinReplyPrefix)}*`, `%W~${literal(k.joinRequests(role))}`
  ]
}

export function rulesFor (k: Keys, role: Role, nodeId: string): string[] {
  return role === 'manager' ? managerRules(k) : workerRules(k, nodeId)
}

/** Creates or redefines `user` with `password` and `rules` (ACL SETUSER ... reset: nothing of a former definition survives). */
export async function setUser (redis: Redis, user: string, password: string, rules: string[]): Promise<void> {
  await redis.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, ...rules)
}

/** Changes `user`'s permissions, keeping its password (promote, demote). */
export async function setRules (redis: Redis, user: string, rules: string[]): Promise<void> {
  await redis.call('ACL', 'SETUSER', user, 'resetkeys', 'resetchannels', '-@all', ...rules)
}

/** Replaces `user`'s password (a rotated join token): connections already authenticated stay. */
export async function setPassword (redis: Redis, user: string, password: string): Promise<void> {
  await redis.call('ACL', 'SETUSER', user, 'resetpass', `>${password}`)
}

/** Deletes `user`; Redis closes its connections, and its credential is refused from then on. */
export async function deleteUser (redis: Redis, user: string): Promise<number> {
  return Number(await redis.call('ACL', 'DELUSER', user))
}

/**
 * Persists the ACL when Redis has an ACL file (ACL SAVE); without one the
 * users last until Redis restarts. Resolves with what happened, for a log line.
 */
export async function saveAcl (redis: Redis): Promise<'saved' | 'no-file'> {
  try {
    await redis.call('ACL', 'SAVE')
    return 'saved'
  } catch (err) {
    if (/not configured to use an ACL file/i.test((err as Error).message)) return 'no-file'
    throw err
  }
}
