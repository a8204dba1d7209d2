/**
 * Rewrites a client's request head into the headers sent upstream, in one
 * pass, and notes what the head says about framing, routing and
 * expectations (RequestInfo) for the listener to check.
 *
 * - Hop-by-hop headers (RFC 9110 7.6.1: Connection and the names it lists,
 *   Keep-Alive, TE, Trailer, Upgrade, Proxy-*, HTTP2-Settings) are dropped;
 *   Transfer-Encoding and Expect are answered here, not forwarded.
 * - Forwarding headers (Forwarded, X-Forwarded-*, X-Real-IP,
 *   True-Client-IP) from a peer outside proxy.trustedProxies are dropped
 *   and ours set in their place (an edge proxy does not believe them,
 *   Traefik's default); from a trusted peer they are kept, and ours are
 *   appended to X-Forwarded-For and Forwarded.
 */
import { connectionOptions, eqLower, withoutNamed } from './header-names'

export interface ForwardingOptions {
  /** What the client spoke: X-Forwarded-Proto and Forwarded's proto. */
  proto: 'http' | 'https'
  /** Set X-Forwarded-For/-Proto/-Host. */
  xForwarded: boolean
  /** Set RFC 7239 Forwarded. */
  forwardedHeader: boolean
}

/** What the request head said (one object per listener, refilled per request). */
export interface RequestInfo {
  /** The first Host value, or null when there is none. */
  host: string | null
  /** Host header lines (RFC 9112 3.2: exactly one). */
  hosts: number
  /** The request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean
  /** Transfer-Encoding values joined ('' when none). */
  transferEncoding: string
  /** The Expect header ('' when none). */
  expect: string
  /** The Upgrade header ('' when none). */
  upgrade: string
}

export function newRequestInfo (): RequestInfo {
  return { host: null, hosts: 0, hasBody: false, transferEncoding: '', expect: '', upgrade: '' }
}

const H_NONE = 0
const H_DROP = 1
const H_CONNECTION = 2
const H_HOST = 3
const H_CONTENT_LENGTH = 4
const H_TRANSFER_ENCODING = 5
const H_EXPECT = 6
const H_UPGRADE = 7
/** X-Forwarded-For: replaced, or appended to for a trusted peer. */
const H_XFF = 8
/** Forwarded: dropped, or appended to for a trusted peer. */
const H_FORWARDED = 9
/** X-Forwarded-Proto/-Host/-Port/-Server, X-Real-IP, True-Client-IP: dropped unless the peer is trusted. */
const H_CLIENT_SAID = 10

function requestHeaderKind (name: string): number {
  switch (name.length) {
    case 2: return eqLower(name, 'te') ? H_DROP : H_NONE
    case 4: return eqLower(name, 'host') ? H_HOST : H_NONE
    // Expect is answered here (100 Continue, or 417 for other expectations): it is
    // hop-by-hop in effect, and undici refuses it (UND_ERR_NOT_SUPPORTED).
    case 6: return eqLower(name, 'expect') ? H_EXPECT : H_NONE
    case 7: return eqLower(name, 'upgrade') ? H_UPGRADE : eqLower(name, 'trailer') ? H_DROP : H_NONE
    case 9: return eqLower(name, 'forwarded') ? H_FORWARDED : eqLower(name, 'x-real-ip') ? H_CLIENT_SAID : H_NONE
    case 10: return eqLower(name, 'connection') ? H_CONNECTION : eqLower(name, 'keep-alive') ? H_DROP : H_NONE
    case 14: return eqLower(name, 'content-length') ? H_CONTENT_LENGTH : eqLower(name, 'true-client-ip') ? H_CLIENT_SAID : eqLower(name, 'http2-settings') ? H_DROP : H_NONE
    case 15: return eqLower(name, 'x-forwarded-for') ? H_XFF : H_NONE
    case 16: return eqLower(name, 'proxy-connection') ? H_DROP : eqLower(name, 'x-forwarded-host') || eqLower(name, 'x-forwarded-port') ? H_CLIENT_SAID : H_NONE
    case 17: return eqLower(name, 'transfer-encoding') ? H_TRANSFER_ENCODING : eqLower(name, 'x-forwarded-proto') ? H_CLIENT_SAID : H_NONE
    case 18: return eqLower(name, 'x-forwarded-server') ? H_CLIENT_SAID : H_NONE
    case 19: return eqLower(name, 'proxy-authorization') ? H_DROP : H_NONE
    default: return H_NONE
  }
}

/** RFC 7239 node for an address: IPv6 in quotes and brackets. */
function forwardedNode (ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip
}

/**
 * `raw`: the client's [name, value, ...]; `authority`: the target's
 * authority when the request came in absolute-form (it replaces Host,
 * RFC 9112 3.2.2), else null. Returns the flat array sent upstream.
 */
export function upstreamRequestHeaders (raw: string[], clientIp: string, trusted: boolean, authority: string | null, o: ForwardingOptions, info: RequestInfo): string[] {
  const out: string[] = []
  let connection: string | null = null
  let xff: string | null = null
  let forwarded: string | null = null
  let clientProto = false
  let clientHost = false
  info.host = null
  info.hosts = 0
  info.hasBody = false
  info.transferEncoding = ''
  info.expect = ''
  info.upgrade = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const value = raw[i + 1]
    switch (requestHeaderKind(name)) {
      case H_DROP: continue
      case H_CONNECTION: connection = connection === null ? value : `${connection},${value}`; continue
      case H_TRANSFER_ENCODING:
        info.hasBody = true
        info.transferEncoding = info.transferEncoding === '' ? value : `${info.transferEncoding},${value}`
        continue
      case H_CONTENT_LENGTH: if (value !== '0') info.hasBody = true; break
      case H_HOST:
        if (info.hosts++ > 0) continue
        info.host = value
        if (authority !== null) {
          out.push(name, authority)
          continue
        }
        break
      case H_EXPECT: info.expect = value; continue
      case H_UPGRADE: info.upgrade = value; continue
      case H_XFF:
        if (trusted) xff = xff === null ? value : `${xff}, ${value}`
        continue
      case H_FORWARDED:
        if (!trusted) continue
        if (o.forwardedHeader) { forwarded = forwarded === null ? value : `${forwarded}, ${value}`; continue }
        break
      case H_CLIENT_SAID:
        if (!trusted) continue
        if (name.length === 17) clientProto = true
        else if (name.length === 16 && (name.charCodeAt(12) | 32) === 104) clientHost = true // x-forwarded-(h)ost
        break
    }
    out.push(name, value)
  }
  if (authority !== null) {
    if (info.hosts === 0) out.push('host', authority)
    info.host = authority
  }
  const pairs = connection === null ? out : dropConnectionOptions(out, connection)
  const host = info.host
  if (o.xForwarded) {
    pairs.push('x-forwarded-for', xff === null ? clientIp : `${xff}, ${clientIp}`)
    if (!clientProto) pairs.push('x-forwarded-proto', o.proto)
    if (!clientHost && host !== null && host !== '') pairs.push('x-forwarded-host', host)
  } else if (xff !== null) {
    pairs.push('x-forwarded-for', xff)
  }
  if (o.forwardedHeader) {
    const ours = `for=${forwardedNode(clientIp)};proto=${o.proto}${host !== null && host !== '' ? `;host="${host}"` : ''}`
    pairs.push('forwarded', forwarded === null ? ours : `${forwarded}, ${ours}`)
  }
  return pairs
}

function dropConnectionOptions (pairs: string[], connection: string): string[] {
  const named = connectionOptions(connection)
  return named === null ? pairs : withoutNamed(pairs, named)
}
