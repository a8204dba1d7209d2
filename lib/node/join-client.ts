/**
 * The joining side of `mesh join` (join-protocol.ts has the exchange): with
 * the token's secret as the password of its role's joiner user, it asks
 * the registry's leading manager for a node of its own and waits for the
 * sealed credential. A malformed token is refused before anything is sent;
 * a wrong or rotated one is refused by Redis at AUTH, before anything is
 * written.
 */
import type Redis from 'ioredis'
import type { Config } from '../config/schema'
import { MeshError } from '../errors'
import { joinerUser } from '../registry/acl'
import { createRedis } from '../registry/client'
import { Keys } from '../registry/keys'
import { newId } from '../util/ids'
import { redactUrl } from '../util/redact'
import { newRequestKeys, open, type JoinGrant, type JoinReply } from './join-protocol'
import { parseToken } from './join-token'
import { joinAddress, withCredentials } from './state-dir'

export interface JoinAsk {
  token: string
  /** The registry, without credentials. */
  registry: string
  name: string
  /** Advertise address; null: the local address this machine reaches the registry from (as docker picks one). */
  addr: string | null
  /** Connection settings (redis.prefix, timeouts, TLS files). */
  config: Config
  /** How long to wait for a manager's answer. */
  timeoutMs: number
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function connect (config: Config, url: string, registry: string): Promise<Redis> {
  const redis = createRedis({ ...config.redis, url, name: 'mesh-join', oneShot: true })
  let last: Error | null = null
  redis.on('error', (err: Error) => { last = err })
  try {
    await Promise.race([redis.connect(), sleep(config.redis.connectTimeout + 250).then(() => { throw new Error(`no answer within ${config.redis.connectTimeout} ms`) })])
    return redis
  } catch (err) {
    redis.disconnect()
    const seen = (last ?? err) as Error
    if (/WRONGPASS|invalid username-password|NOAUTH/.test(seen.message)) {
      throw new MeshError('MESH_ERR_JOIN_TOKEN', `the registry at ${joinAddress(registry)} refused the join token: it is wrong, or was rotated (the current one: mesh join-token worker, or manager, on a manager)`, { cause: err })
    }
    throw new MeshError('MESH_ERR_REGISTRY_UNREACHABLE', `cannot reach the registry at ${redactUrl(registry)} (${(seen as NodeJS.ErrnoException).code ?? seen.message})`, { cause: err })
  }
}

/** Asks to join; resolves with this node's identity, credential and the address it joined with. */
export async function requestJoin (ask: JoinAsk): Promise<JoinGrant & { addr: string }> {
  const token = parseToken(ask.token)
  const prefix = ask.config.redis.prefix
  const k = new Keys(prefix)
  const redis = await connect(ask.config, withCredentials(ask.registry, joinerUser(prefix, token.role), token.secret), ask.registry)
  try {
    const epoch = await redis.get(k.epoch)
    if (epoch === null) throw new MeshError('MESH_ERR_JOIN_TOKEN', `the registry at ${joinAddress(ask.registry)} holds no cluster under "${prefix}" (is redis.prefix the cluster's?)`)
    if (epoch !== token.cluster) {
      throw new MeshError('MESH_ERR_JOIN_TOKEN', `the join token belongs to cluster ${token.cluster}; the registry at ${joinAddress(ask.registry)} holds cluster ${epoch}`)
    }
    const keys = newRequestKeys()
    const req = newId()
    const addr = ask.addr ?? localAddress(redis)
    await redis.xadd(k.joinRequests(token.role), 'MAXLEN', '~', 1000, '*', 'v', '1', 'req', req, 'name', ask.name, 'addr', addr, 'key', keys.publicKey)
    const deadline = Date.now() + ask.timeoutMs
    for (;;) {
      const text = await redis.get(k.joinReply(req))
      if (text !== null) {
        const reply = JSON.parse(text) as JoinReply
        if (!reply.ok) throw new MeshError('MESH_ERR_JOIN_REFUSED', `the cluster refused this node: ${reply.error}`)
        return { ...open(keys.privateKey, reply.sealed), addr }
      }
      if (Date.now() > deadline) {
        throw new MeshError('MESH_ERR_JOIN_REFUSED', `no manager answered the join request within ${ask.timeoutMs} ms (is a manager running? mesh node ls on one shows the Leader)`)
      }
      await sleep(100)
    }
  } finally {
    redis.disconnect()
  }
}

/** The address of this end of the registry connection (an IPv4-mapped IPv6 address as IPv4). */
function localAddress (redis: Redis): string {
  const a = (redis as unknown as { stream?: { localAddress?: string } }).stream?.localAddress ?? '127.0.0.1'
  return a.startsWith('::ffff:') ? a.slice(7) : a
}
