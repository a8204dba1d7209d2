/**
 * The forms `redis.url` takes, parsed and validated in one place (the config
 * loader at start, the Redis client when it connects):
 *
 *   redis://[user:password@]host[:port][/db]        one Redis server
 *   rediss://...                                     the same over TLS
 *   redis+sentinel://[user:password@]h1[:p1],h2[:p2],.../MASTER[?sentinelUsername=u&sentinelPassword=p]
 *   rediss+sentinel://...                            the same over TLS (sentinels and servers)
 *
 * In the Sentinel forms the user and password are those of the Redis servers
 * (master and replicas); the sentinels' own credentials, when they need
 * any, go in the query. A sentinel without a port is on 26379. ioredis
 * takes Sentinel as options and parses no such URL, so this is the only
 * parser of it. A bad URL is one MESH_ERR_CONFIG naming the part that is
 * wrong, with every password shown as ***.
 */
import { isIP } from 'node:net'
import { MeshError } from '../errors'
import { redactUrl } from '../util/redact'

export const SENTINEL_DEFAULT_PORT = 26379

export interface SentinelAddress { host: string, port: number }

export type RedisTarget =
  | {
    kind: 'server'
    tls: boolean
    /** The URL as given: ioredis parses this form itself. */
    url: string
  }
  | {
    kind: 'sentinel'
    tls: boolean
    sentinels: SentinelAddress[]
    /** The master's name in the sentinels' configuration (`sentinel monitor NAME ...`). */
    master: string
    /** Credentials of the Redis servers ('' = none). */
    username: string
    password: string
    /** Credentials of the sentinels ('' = none). */
    sentinelUsername: string
    sentinelPassword: string
  }

const SENTINEL_SCHEME = /^(rediss?)\+sentinel:\/\//i
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/
const MASTER_NAME = /^[a-zA-Z0-9_.-]+$/
const SENTINEL_PARAMS = ['sentinelUsername', 'sentinelPassword'] as const

/** True when `text` is written in one of the Sentinel forms (valid or not). */
export function isSentinelUrl (text: string): boolean {
  return SENTINEL_SCHEME.test(text)
}

/** Parses and validates `text` (the value of config key `key`); throws MESH_ERR_CONFIG naming the bad part. */
export function parseRedisUrl (text: string, key = 'redis.url'): RedisTarget {
  const fail = (problem: string): MeshError =>
    new MeshError('MESH_ERR_CONFIG', `config key ${key}: ${redactUrl(JSON.stringify(text))} ${problem}`)
  const scheme = SENTINEL_SCHEME.exec(text)
  if (scheme === null) return parseServer(text, fail)
  return parseSentinel(text, scheme[0].length, scheme[1].toLowerCase() === 'rediss', fail)
}

function parseServer (text: string, fail: (problem: string) => MeshError): RedisTarget {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    if (/^rediss?:\/\/[^/]*,/i.test(text)) throw fail('is not a URL: several hosts are the Sentinel form, redis+sentinel://h1:26379,h2:26379,h3:26379/MASTER')
    throw fail('is not a URL like redis://127.0.0.1:6379 or redis+sentinel://h1:26379,h2:26379,h3:26379/MASTER')
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw fail('is not a redis:// or rediss:// URL, nor a Sentinel one (redis+sentinel://h1:26379,h2:26379,h3:26379/MASTER)')
  if (url.hostname === '') throw fail('names no host')
  return { kind: 'server', tls: url.protocol === 'rediss:', url: text }
}

function parseSentinel (text: string, from: number, tls: boolean, fail: (problem: string) => MeshError): RedisTarget {
  const hash = text.indexOf('#', from)
  if (hash !== -1) throw fail('has a #fragment: a Sentinel URL ends with /MASTER or its ?query')
  const q = text.indexOf('?', from)
  const main = text.slice(from, q === -1 ? undefined : q)
  // userinfo runs to the last '@' (a password may hold a raw '@'); the master name cannot hold one.
  const at = main.lastIndexOf('@')
  const info = at === -1 ? null : main.slice(0, at)
  const rest = main.slice(at + 1)
  const slash = rest.indexOf('/')
  if (slash === -1) throw fail('names no master: end it with /MASTER, the name the sentinels monitor')
  const hostList = rest.slice(0, slash)
  const path = rest.slice(slash + 1)

  let username = ''
  let password = ''
  if (info !== null) {
    const colon = info.indexOf(':')
    try {
      username = decodeURIComponent(colon === -1 ? info : info.slice(0, colon))
      password = colon === -1 ? '' : decodeURIComponent(info.slice(colon + 1))
    } catch {
      throw fail('has a user:password that is not percent-encoded (write % as %25)')
    }
  }

  if (hostList === '') throw fail('names no sentinel: list them as h1:26379,h2:26379,h3:26379')
  const sentinels: SentinelAddress[] = []
  const seen = new Set<string>()
  for (const part of hostList.split(',')) {
    const address = sentinelAddress(part, fail)
    const id = `${address.host}:${address.port}`
    if (seen.has(id)) throw fail(`lists sentinel ${id} twice`)
    seen.add(id)
    sentinels.push(address)
  }

  if (path === '') throw fail('names no master: end it with /MASTER, the name the sentinels monitor')
  if (!MASTER_NAME.test(path)) throw fail(`has master name ${JSON.stringify(path)}: want one name of letters, digits, _ . - (no /db: Sentinel serves database 0)`)

  let sentinelUsername = ''
  let sentinelPassword = ''
  if (q !== -1) {
    const params = new URLSearchParams(text.slice(q + 1))
    const names = [...params.keys()]
    for (const name of names) {
      if (!(SENTINEL_PARAMS as readonly string[]).includes(name)) throw fail(`has query parameter "${name}": known are ${SENTINEL_PARAMS.join(', ')}`)
      if (params.getAll(name).length > 1) throw fail(`has query parameter "${name}" twice`)
    }
    sentinelUsername = params.get('sentinelUsername') ?? ''
    sentinelPassword = params.get('sentinelPassword') ?? ''
  }
  return { kind: 'sentinel', tls, sentinels, master: path, username, password, sentinelUsername, sentinelPassword }
}

function sentinelAddress (part: string, fail: (problem: string) => MeshError): SentinelAddress {
  const shown = JSON.stringify(part)
  if (part === '') throw fail('has an empty sentinel address (two commas, or one at an end)')
  let host: string
  let portText: string | null
  if (part.startsWith('[')) {
    const close = part.indexOf(']')
    if (close === -1) throw fail(`has sentinel ${shown}: an IPv6 address needs its closing ]`)
    host = part.slice(1, close)
    const after = part.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) throw fail(`has sentinel ${shown}: want [IPv6]:PORT`)
    portText = after === '' ? null : after.slice(1)
    if (isIP(host) !== 6) throw fail(`has sentinel ${shown}: ${JSON.stringify(host)} is not an IPv6 address`)
  } else {
    const colon = part.lastIndexOf(':')
    host = colon === -1 ? part : part.slice(0, colon)
    portText = colon === -1 ? null : part.slice(colon + 1)
    if (host.includes(':')) throw fail(`has sentinel ${shown}: write an IPv6 address in brackets, [::1]:26379`)
    if (isIP(host) === 0 && !HOSTNAME.test(host)) throw fail(`has sentinel ${shown}: ${JSON.stringify(host)} is not a host name or IP address`)
  }
  if (portText === null) return { host, port: SENTINEL_DEFAULT_PORT }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN
  if (!(port >= 1 && port <= 65535)) throw fail(`has sentinel ${shown}: port ${JSON.stringify(portText)} is not 1-65535`)
  return { host, port }
}

/**
 * Which registry a URL names, without credentials: `host:port/db` for one
 * server, `sentinel h1:p1,h2:p2/MASTER` (sentinels sorted) through Sentinel.
 * For tags derived from the URL (never a password in them, even hashed).
 */
export function redisIdentity (text: string): string {
  const target = parseRedisUrl(text)
  if (target.kind === 'sentinel') return `sentinel ${target.sentinels.map((s) => `${s.host}:${s.port}`).sort().join(',')}/${target.master}`
  const u = new URL(text)
  return `${u.hostname}:${u.port === '' ? '6379' : u.port}${u.pathname === '' ? '/' : u.pathname}`
}
