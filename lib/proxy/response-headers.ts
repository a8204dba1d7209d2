/**
 * An upstream response head -> the `name: value\r\n` lines sent to the
 * client. Hop-by-hop headers (and the names Connection lists) are dropped,
 * and so are the upstream's framing headers: the exchange writes exactly one
 * framing header of its own (RFC 9112 6.3: Transfer-Encoding overrides
 * Content-Length, so a response with both is framed as chunked and its
 * Content-Length never reaches the client).
 */
import { connectionOptions, eqLower, latin1 } from './header-names'

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

function responseHeaderKind (name: string): number {
  switch (name.length) {
    case 7: return eqLower(name, 'upgrade') ? UPGRADE : eqLower(name, 'trailer') ? DROP : KEEP
    case 10: return eqLower(name, 'connection') ? CONNECTION : eqLower(name, 'keep-alive') ? DROP : KEEP
    case 14: return eqLower(name, 'content-length') ? CONTENT_LENGTH : KEEP
    case 16: return eqLower(name, 'proxy-connection') ? DROP : KEEP
    case 17: return eqLower(name, 'transfer-encoding') ? TRANSFER_ENCODING : KEEP
    case 18: return eqLower(name, 'proxy-authenticate') ? DROP : KEEP
    default: return KEEP
  }
}

/** A Content-Length value: digits with optional surrounding whitespace (as llhttp accepts it), else -1. */
function parseLength (v: string): number {
  let start = 0
  let end = v.length
  while (start < end && (v.charCodeAt(start) === 32 || v.charCodeAt(start) === 9)) start++
  while (end > start && (v.charCodeAt(end - 1) === 32 || v.charCodeAt(end - 1) === 9)) end--
  if (end === start || end - start > 15) return -1
  let n = 0
  for (let i = start; i < end; i++) {
    const c = v.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** Builds one head; a single instance is reused (the proxy runs on one thread and never nests heads). */
class HeadBuilder {
  head = ''
  contentLength = -1
  lengths = 0
  chunked = false
  connection: string | null = null
  upgrade: string | null = null
  keepUpgrade = false

  reset (keepUpgrade: boolean): void {
    this.head = ''
    this.contentLength = -1
    this.lengths = 0
    this.chunked = false
    this.connection = null
    this.upgrade = null
    this.keepUpgrade = keepUpgrade
  }

  add (name: string, value: string): void {
    switch (responseHeaderKind(name)) {
      case DROP: return
      case CONNECTION:
        if (!eqLower(value, 'keep-alive') && !eqLower(value, 'close')) this.connection = this.connection === null ? value : `${this.connection},${value}`
        return
      case CONTENT_LENGTH: {
        const n = parseLength(value)
        // Two different lengths: unknown (the body is then chunked to the client, its end still exact).
        this.contentLength = this.lengths++ === 0 || n === this.contentLength ? n : -1
        return
      }
      case TRANSFER_ENCODING: this.chunked = true; return
      case UPGRADE:
        if (this.keepUpgrade) this.upgrade = value
        return
    }
    this.head += `${name}: ${value}\r\n`
  }

  finish (info: ResponseInfo): string {
    info.contentLength = this.chunked ? -1 : this.contentLength
    let head = this.head
    if (this.connection !== null) {
      const named = connectionOptions(this.connection)
      if (named !== null) head = head.split('\r\n').filter((line) => !named.has(line.slice(0, line.indexOf(':')).toLowerCase())).join('\r\n')
    }
    if (this.upgrade !== null) head += `connection: upgrade\r\nupgrade: ${this.upgrade}\r\n`
    return head
  }
}

const builder = new HeadBuilder()

/** From undici's raw headers (Buffers): the head of a forwarded response. */
export function downstreamResponseHead (raw: Buffer[], info: ResponseInfo): string {
  builder.reset(false)
  for (let i = 0; i < raw.length; i += 2) builder.add(latin1(raw[i]), latin1(raw[i + 1]))
  return builder.finish(info)
}

/**
 * From llhttp's headers (strings): the head of an answer to an upgrade
 * request. `switching`: a 101, which keeps Upgrade and says Connection: upgrade.
 */
export function upgradeResponseHead (raw: string[], switching: boolean, info: ResponseInfo): string {
  builder.reset(switching)
  for (let i = 0; i < raw.length; i += 2) builder.add(raw[i], raw[i + 1])
  return builder.finish(info)
}
