/**
 * Coded errors. Callers branch on `err.code`, never on the message.
 * A retired code is never reused; every code is listed in README.md
 * (test/errors.test.ts checks both).
 */
export const ERROR_CODES = {
  MESH_ERR_CONFIG: 'a configuration key has a bad value',
  MESH_ERR_USAGE: 'a command-line flag or argument is missing or malformed',
  MESH_ERR_INVALID_PORT: 'a port is not an integer in 1-65535',
  MESH_ERR_INVALID_ENDPOINT: 'an endpoint is not HOST:PORT',
  MESH_ERR_INVALID_DURATION: 'a duration is not like 500ms, 10s, 5m, 1h',
  MESH_ERR_INVALID_NAME: 'a service or node name is not [a-zA-Z0-9][a-zA-Z0-9_.-]*',
  MESH_ERR_INVALID_HOST: 'a --host name is not a DNS name or *.wildcard',
  MESH_ERR_PORT_CONFLICT: 'a published port is already taken by another service',
  MESH_ERR_SERVICE_EXISTS: 'a service with that name already exists',
  MESH_ERR_SERVICE_NOT_FOUND: 'no service with that name or id',
  MESH_ERR_NODE_NOT_FOUND: 'no node with that name or id',
  MESH_ERR_ENDPOINT_NOT_FOUND: 'no endpoint with that address in the service',
  MESH_ERR_REGISTRY_UNREACHABLE: 'the Redis registry cannot be reached',
  MESH_ERR_REGISTRY_CONFLICT: 'the registry changed under a write too many times in a row',
  MESH_ERR_REGISTRY_FENCED: 'a write carried a stale scheduler fencing token',
  MESH_ERR_REGISTRY_EPOCH: 'a write was refused: the registry has no cluster epoch (it is being restored, or no cluster was created), a restore window is open, or it belongs to another epoch',
  MESH_ERR_MALFORMED_RECORD: 'a registry record could not be decoded',
  MESH_ERR_NO_HEALTHY_ENDPOINT: 'a service has no healthy endpoint',
  MESH_ERR_NO_ROUTE: 'no service matches the Host header on a shared port',
  MESH_ERR_UPSTREAM: 'an upstream endpoint failed',
  MESH_ERR_UPSTREAM_TIMEOUT: 'an upstream endpoint timed out',
  MESH_ERR_QUEUE_TIMEOUT: 'no upstream connection became free within proxy.queueTimeout',
  MESH_ERR_QUEUE_FULL: 'proxy.maxQueued requests were already waiting for the endpoint',
  MESH_ERR_LOCAL_RESOURCES: 'the node itself ran out of file descriptors, memory or local ports',
  MESH_ERR_LISTEN: 'a published port could not be bound',
  MESH_ERR_INVALID_REPLICAS: 'replicas is not a whole number >= 0',
  MESH_ERR_COMMAND_MISSING: 'a service with replicas needs a command after --',
  MESH_ERR_NOT_CONVERGED: 'a service did not converge (update paused or rolled back)',
  MESH_ERR_NO_PREVIOUS_SPEC: 'a service has no previous spec to roll back to',
  MESH_ERR_CLUSTER: 'a cluster could not be created (mesh init), or a local cluster started or stopped (mesh up/down)',
  MESH_ERR_NODE_LIVE: 'a node that is still alive cannot be removed without --force',
  MESH_ERR_REGISTRY_DENIED: 'the registry refused this credential a command or key (Redis ACL NOPERM): a worker may not write desired state, take the scheduler lease or write another node\'s keys',
  MESH_ERR_JOIN_TOKEN: 'a join token is malformed, or the registry refused it (wrong, or rotated since)',
  MESH_ERR_JOIN_REFUSED: 'the leading manager refused a join request (the name is taken, or the request was invalid), or no manager answered it',
  MESH_ERR_LAST_MANAGER: 'the last manager cannot leave or be demoted without --force (leaving) or another manager (demoting)',
  MESH_ERR_NODE_CLAIMED: 'a node name belongs to a node that joined with its own credential: a second daemon cannot claim it',
  MESH_ERR_CERT_NOT_FOUND: 'no certificate with that name in the registry (mesh cert ls)',
  MESH_ERR_CERT_EXISTS: 'a certificate with that name already exists (mesh cert update replaces it)',
  MESH_ERR_CERT_IN_USE: 'a certificate that a service names with --cert cannot be removed',
  MESH_ERR_CERT_INVALID: 'a certificate or key file is missing, unreadable or not PEM, or the key does not match the certificate',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class MeshError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MeshError'
    this.code = code
  }
}

export function isMeshError (err: unknown, code?: ErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code)
}
