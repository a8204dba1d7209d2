/**
 * Join tokens, as `docker swarm join-token` prints them:
 *
 *   MESHTKN-1-<cluster id>-<secret>
 *
 * The cluster id is the registry's epoch (a token for another cluster is
 * told apart from a wrong one). The secret is the password of the joiner
 * Redis user of its role (registry/acl.ts); its first character says the
 * role (w: worker, m: manager), the rest is random. It authorises one
 * thing: appending a join request. Rotating it (`mesh join-token --rotate`)
 * changes that password: nodes that joined keep their own credentials.
 */
import { MeshError } from '../errors'
import type { Role } from '../registry/acl'
import { newId } from '../util/ids'

export interface JoinToken { cluster: string, role: Role, secret: string }

const TOKEN = /^MESHTKN-1-([0-9a-z]{25})-([wm])([0-9a-z]{32})$/

export function formatToken (cluster: string, secret: string): string {
  return `MESHTKN-1-${cluster}-${secret}`
}

/** A fresh secret for `role`'s joiner user. */
export function newSecret (role: Role): string {
  return `${role === 'worker' ? 'w' : 'm'}${newId(32)}`
}

/** Parses a token; MESH_ERR_JOIN_TOKEN when it is not one (never echoing the secret). */
export function parseToken (text: string): JoinToken {
  const m = TOKEN.exec(text.trim())
  if (m === null) {
    const shown = text.startsWith('MESHTKN-') ? 'MESHTKN-...' : JSON.stringify(text.slice(0, 12) + (text.length > 12 ? '...' : ''))
    throw new MeshError('MESH_ERR_JOIN_TOKEN', `invalid join token ${shown}: a token is MESHTKN-1-<cluster>-<secret>, as printed by \`mesh join-token worker\` (or manager) on a manager`)
  }
  return { cluster: m[1], role: m[2] === 'w' ? 'worker' : 'manager', secret: `${m[2]}${m[3]}` }
}
