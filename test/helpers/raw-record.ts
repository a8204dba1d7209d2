/**
 * Writes a registry record exactly as given (any bytes, valid or not) the way
 * the WRITE script does: the hash field, a revision bump and a change-feed
 * entry, atomically. For tests of what readers do with records that some
 * other writer (an older or newer routemesh, an operator with redis-cli) left.
 */
import type Redis from 'ioredis'
import { TYPE_CHAR } from '../../lib/registry/keys'
import type { RecordType } from '../../lib/registry/types'

const RAW = `
local rev = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'rev', tostring(rev), ARGV[1] .. ':' .. ARGV[2], ARGV[3])
return rev
`

const HASH: Record<RecordType, string> = { service: 'services', task: 'tasks', health: 'health', node: 'nodes' }

export async function writeRaw (redis: Redis, type: RecordType, id: string, text: string, prefix = 'mesh:'): Promise<number> {
  return Number(await redis.eval(RAW, 3, `${prefix}${HASH[type]}`, `${prefix}rev`, `${prefix}changes`, TYPE_CHAR[type], id, text))
}
