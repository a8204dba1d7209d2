/**
 * An upstream response head -> the `name: value\r\n` lines sent to the
 * client. Hop-by-hop headers (and the names Connection lists) are dropped,
 * and so are the upstream's framing headers: the exchange writes exactly one
 * framing header of its own (RFC 9112 6.3: Transfer-Encoding overrides
 * Content-Length, so a response with both is framed as chunked and its
 * Content-Length never reaches the client).
 */
import { connectionOptions, eqLowerBuf, latin1 } from './header-names'

/** What the response head told us besides its lines. */
export interface ResponseInfo {
  /** The body length Content-Length declared, or -1 (none, unparsable, or overridden by Transfer-Encoding). */
  contentLength: number
}

const KEEP = 0
const DROP = 1
const CONNECTION = 2
const CONTENT_LENGTH = 3
const TRANSFER_ENCODING = 4
const UPGRADE = 5

function responseHeaderKind (name: Buffer): number {
  switch (name.length) {
    case 7: return eqLowerBuf(name, 'upgrade') ? UPGRADE : eqLowerBuf(name, 'trailer') ? DROP : KEEP
    case 10: return eqLowerBuf(name, 'connection') ? CONNECTION : eqLowerBuf(name, 'keep-alive') ? DROP : KEEP
    case 14: return eqLowerBuf(name, 'content-length') ? CONTENT_LENGTH : KEEP
    case 16: return eqLowerBuf(name, 'proxy-connection') ? DROP : KEEP
    case 17: return eqLowerBuf(name, 'transfer-encoding') ? TRANSFER_ENCODING : KEEP
    case 18: return eqLowerBuf(name, 'proxy-authenticate') ? DROP : KEEP
    default: return KEEP
  }
}

/** A Content-Length value: digits with optional surrounding whitespace (as llhttp accepts it), else -1. */
function parseLength (v: Buffer): number {
  let start = 0
  let end = v.length
  while (start < end && (v[start] === 32 || v[start] === 9)) start++
  while (end > start && (v[end - 1] === 32 || v[end - 1] === 9)) end--
  if (end === start || end - start > 15) return -1
  let n = 0
  for (let i = start; i < end; i++) {
    const c = v[i] - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/**
 * Upstream raw response headers (Buffers, as undici hands them over) ->
 * head lines for the client; fills `info`. `switching`: a 101, which keeps
 * Upgrade and says Connection: upgrade.
 */
export function downstreamResponseHead (raw: Buffer[], info: ResponseInfo, switching = false): string {
  let head = ''
  let contentLength = -1
  let lengths = 0
  let chunked = false
  let connection: string | null = null
  let upgrade: string | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    switch (responseHeaderKind(name)) {
      case DROP: continue
      case CONNECTION: {
        const value = raw[i + 1]
        if (!eqLowerBuf(value, 'keep-alive') && !eqLowerBuf(value, 'close')) connection = connection === null ? latin1(value) : `${connection},${latin1(value)}`
        continue
      }
      case CONTENT_LENGTH: {
        const n = parseLength(raw[i + 1])
        // Two different lengths: unknown (the body is then chunked to the client, its end still exact).
        contentLength = lengths++ === 0 || n === contentLength ? n : -1
        continue
      }
      case TRANSFER_ENCODING: chunked = true; continue
      case UPGRADE:
        if (switching) upgrade = latin1(raw[i + 1])
        continue
    }
    head += `${latin1(name)}: ${latin1(raw[i + 1])}\r\n`
  }
  info.contentLength = chunked ? -1 : contentLength
  // Headers the backend named in Connection are hop-by-hop too (RFC 9110 7.6.1).
  if (connection !== null) {
    const named = connectionOptions(connection)
    if (named !== null) head = head.split('\r\n').filter((line) => !named.has(line.slice(0, line.indexOf(':')).toLowerCase())).join('\r\n')
  }
  if (upgrade !== null) head += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`
  return head
}

/** The same from llhttp's headers (strings: the answer to an upgrade request, read by our own parser). */
export function upgradeResponseHead (raw: string[], switching: boolean, info: ResponseInfo): string {
  return downstreamResponseHead(raw.map((h) => Buffer.from(h, 'latin1')), info, switching)
}

/**
 * The same upstream head for an HTTP/2 client: names lower-cased (RFC 9113
 * 8.2), connection-specific fields and the upstream's framing dropped, the
 * length kept when it is known, repeated names (set-cookie) as arrays.
 */
export function h2ResponseHeaders (status: number, raw: Buffer[]): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = { ':status': status }
  let contentLength = -1
  let lengths = 0
  let chunked = false
  let connection: string | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    switch (responseHeaderKind(name)) {
      case DROP: case UPGRADE: continue
      case CONNECTION: {
        const value = raw[i + 1]
        if (!eqLowerBuf(value, 'keep-alive') && !eqLowerBuf(value, 'close')) connection = connection === null ? latin1(value) : `${connection},${latin1(value)}`
        continue
      }
      case CONTENT_LENGTH: {
        const n = parseLength(raw[i + 1])
        contentLength = lengths++ === 0 || n === contentLength ? n : -1
        continue
      }
      case TRANSFER_ENCODING: chunked = true; continue
    }
    const key = latin1(name).toLowerCase()
    const value = latin1(raw[i + 1])
    const prev = out[key]
    if (prev === undefined) out[key] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[key] = [String(prev), value]
  }
  if (connection !== null) {
    const named = connectionOptions(connection)
    if (named !== null) for (const n of named) delete out[n]
  }
  const length = chunked ? -1 : contentLength
  if (length >= 0 && status !== 204) out['content-length'] = length
  return out
}
