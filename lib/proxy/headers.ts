/**
 * Header rewriting on the hot path, allocation-light: names are matched by
 * length and then case-insensitively in place (no toLowerCase per header).
 *
 * Request: hop-by-hop headers (RFC 9110 7.6.1) and any named in Connection
 * are dropped; X-Forwarded-For/-Proto/-Host/-Port from the client are
 * replaced by ours (an edge proxy does not trust them, like Traefik's default).
 * Response: hop-by-hop headers dropped (the exchange frames the response itself).
 */

/** Lower-case ASCII compare of a header name string with a lower-case literal. */
function eqLower (name: string, lower: string): boolean {
  if (name.length !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i)
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

type Latin1Slicer = Buffer & { latin1Slice: (start: number, end: number) => string }

/** Buffer -> string without toString()'s argument normalisation (Node's own fast path). */
function latin1 (b: Buffer): string {
  return (b as Latin1Slicer).latin1Slice(0, b.length)
}

function eqLowerBuf (name: Buffer, lower: string): boolean {
  if (name.length !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = name[i]
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

const H_NONE = 0
const H_DROP = 1
const H_CONNECTION = 2
const H_HOST = 3
const H_CONTENT_LENGTH = 4
const H_TRANSFER_ENCODING = 5
const H_EXPECT = 6

/** Classifies a request header name. */
function requestHeaderKind (name: string): number {
  switch (name.length) {
    case 2: return eqLower(name, 'te') ? H_DROP : H_NONE
    case 4: return eqLower(name, 'host') ? H_HOST : H_NONE
    // Expect is answered here (100 Continue, or 417 for other expectations): it is
    // hop-by-hop in effect, and undici refuses it (UND_ERR_NOT_SUPPORTED).
    case 6: return eqLower(name, 'expect') ? H_EXPECT : H_NONE
    case 7: return eqLower(name, 'upgrade') || eqLower(name, 'trailer') ? H_DROP : H_NONE
    case 10: return eqLower(name, 'connection') ? H_CONNECTION : eqLower(name, 'keep-alive') ? H_DROP : H_NONE
    case 14: return eqLower(name, 'content-length') ? H_CONTENT_LENGTH : H_NONE
    case 15: return eqLower(name, 'x-forwarded-for') ? H_DROP : H_NONE
    case 16: return eqLower(name, 'proxy-connection') || eqLower(name, 'x-forwarded-host') || eqLower(name, 'x-forwarded-port') ? H_DROP : H_NONE
    case 17: return eqLower(name, 'transfer-encoding') ? H_TRANSFER_ENCODING : eqLower(name, 'x-forwarded-proto') ? H_DROP : H_NONE
    case 19: return eqLower(name, 'proxy-authorization') ? H_DROP : H_NONE
    default: return H_NONE
  }
}

function isHopResponseHeader (name: Buffer): boolean {
  switch (name.length) {
    case 7: return eqLowerBuf(name, 'trailer') || eqLowerBuf(name, 'upgrade')
    case 10: return eqLowerBuf(name, 'connection') || eqLowerBuf(name, 'keep-alive')
    case 16: return eqLowerBuf(name, 'proxy-connection')
    case 17: return eqLowerBuf(name, 'transfer-encoding')
    case 18: return eqLowerBuf(name, 'proxy-authenticate')
    default: return false
  }
}

/** Connection tokens that do not name extra headers. */
function extraConnectionTokens (value: string): string[] | null {
  // Fast path: the one-token values nearly every peer sends.
  if (eqLower(value, 'keep-alive') || eqLower(value, 'close')) return null
  let out: string[] | null = null
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase()
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue
    ;(out ??= []).push(t)
  }
  return out
}

/** What the request framing told us while rewriting headers. */
export interface RequestInfo {
  /** The Host header, or null when there is none. */
  host: string | null
  /** true when the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean
  /** The Expect header ('' when none). */
  expect: string
}

/**
 * Rewrites client raw headers into the flat [name, value, ...] array sent
 * upstream; fills `info`.
 */
export function upstreamRequestHeaders (raw: string[], clientIp: string, xForwarded: boolean, info: RequestInfo): string[] {
  const out: string[] = []
  let connection: string | null = null
  info.host = null
  info.hasBody = false
  info.expect = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const value = raw[i + 1]
    switch (requestHeaderKind(name)) {
      case H_DROP: continue
      case H_CONNECTION: connection = connection === null ? value : `${connection},${value}`; continue
      case H_TRANSFER_ENCODING: info.hasBody = true; continue
      case H_CONTENT_LENGTH: if (value !== '0') info.hasBody = true; break
      case H_HOST: info.host = value; break
      case H_EXPECT: info.expect = value; continue
    }
    out.push(name, value)
  }
  if (connection !== null) {
    const extra = extraConnectionTokens(connection)
    if (extra !== null) {
      for (let i = out.length - 2; i >= 0; i -= 2) {
        if (extra.includes(out[i].toLowerCase())) out.splice(i, 2)
      }
    }
  }
  if (xForwarded) {
    out.push('x-forwarded-for', clientIp, 'x-forwarded-proto', 'http')
    if (info.host !== null && info.host !== '') out.push('x-forwarded-host', info.host)
  }
  return out
}

/** A non-negative decimal Content-Length value, or -1. */
function parseLength (b: Buffer): number {
  if (b.length === 0 || b.length > 15) return -1
  let n = 0
  for (let i = 0; i < b.length; i++) {
    const c = b[i] - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** What the response head told us besides its lines. */
export interface ResponseInfo {
  /** The Content-Length value, or -1. */
  contentLength: number
}

/**
 * Upstream raw response headers (Buffers) -> `name: value\r\n` lines for
 * the client, hop-by-hop removed; fills `info`.
 */
export function downstreamResponseHead (raw: Buffer[], info: ResponseInfo): string {
  let head = ''
  let contentLength = -1
  let connection: string | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === 14 && eqLowerBuf(name, 'content-length')) contentLength = parseLength(raw[i + 1])
    if (isHopResponseHeader(name)) {
      if (name.length === 10 && eqLowerBuf(name, 'connection')) {
        const value = raw[i + 1]
        if (eqLowerBuf(value, 'keep-alive') || eqLowerBuf(value, 'close')) continue
        const v = latin1(value)
        connection = connection === null ? v : `${connection},${v}`
      }
      continue
    }
    head += `${latin1(name)}: ${latin1(raw[i + 1])}\r\n`
  }
  info.contentLength = contentLength
  // Headers the backend named in Connection are hop-by-hop too (RFC 9110 7.6.1).
  // The common "keep-alive"/"close" values name none: no extra work then.
  if (connection !== null) {
    const extra = extraConnectionTokens(connection)
    if (extra !== null) head = head.split('\r\n').filter((line) => !extra.includes(line.slice(0, line.indexOf(':')).toLowerCase())).join('\r\n')
  }
  return head
}
