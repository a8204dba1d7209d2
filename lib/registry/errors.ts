/**
 * Redis refusals in the words of a node's log. A node's credential is its
 * own Redis ACL user: what the registry says when it refuses one is
 * turned into what it means for the node, once, here.
 */
import { isMeshError } from '../errors'

/** One sentence for a registry error a daemon logs. */
export function describeRegistryError (err: unknown): string {
  const msg = (err as Error)?.message ?? String(err)
  if (isMeshError(err, 'MESH_ERR_REGISTRY_DENIED')) return msg
  if (/^NOPERM/.test(msg)) return `the registry refused this node's credential (${msg}): a worker may write only its own heartbeat, report stream and task logs`
  if (/WRONGPASS|invalid username-password/.test(msg)) {
    return `the registry refused this node's credential (${msg}): the node was removed from the cluster (mesh node rm), or the registry lost its users; it keeps serving what it knows, join again with a token`
  }
  if (/NOAUTH/.test(msg)) return `the registry wants a credential (${msg}): give it in redis.url, or join with a token`
  return msg
}

/** True when `err` says the credential itself was refused (it will not work again by retrying). */
export function isCredentialRefused (err: unknown): boolean {
  return /WRONGPASS|invalid username-password/.test((err as Error)?.message ?? '')
}
