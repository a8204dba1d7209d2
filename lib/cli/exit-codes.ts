/**
 * `mesh` exit codes, one table for every command (README "Exit codes"):
 *   0  the command did what it was asked
 *   1  the operation failed: the registry unreachable, no such service,
 *      a port taken, an update paused, a task that cannot start...
 *   2  usage: the command line itself is wrong (an unknown command or flag,
 *      a missing argument, a malformed value), found before anything is written
 */
import { isMeshError, type ErrorCode } from '../errors'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** Error codes that mean "the command line is wrong". */
export const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MESH_ERR_USAGE',
  'MESH_ERR_CONFIG',
  'MESH_ERR_INVALID_PORT',
  'MESH_ERR_INVALID_ENDPOINT',
  'MESH_ERR_INVALID_DURATION',
  'MESH_ERR_INVALID_NAME',
  'MESH_ERR_INVALID_HOST',
  'MESH_ERR_INVALID_REPLICAS',
  'MESH_ERR_COMMAND_MISSING'
])

export function exitCodeOf (err: unknown): number {
  return isMeshError(err) && USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILED
}
