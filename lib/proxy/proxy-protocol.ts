/**
 * The PROXY protocol (HAProxy's, v1 text and v2 binary): how a load
 * balancer in front of a node tells it the real client address, and how a
 * node tells an endpoint. Parsing is for connections from proxy.trustedProxies
 * only (from anyone else such a header is refused by the HTTP parser or
 * forwarded as the data it then is); encoding is for services that ask for it.
 */
import { isIPv4, isIPv6, type Socket } from 'node:net'

export interface ProxiedAddress {
  /** The original client, or null for a LOCAL / UNKNOWN header (a health check of the balancer itself). */
  source: { address: string, port: number } | null
}

/** v2's 12-byte signature. */
const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V1_MAX = 107
/** A v2 header with its TLVs is bounded here (the address block alone is at most 216 bytes). */
const V2_MAX = 16 + 2048

export class ProxyHeaderError extends Error {}

/**
 * Parses a PROXY header at the start of `buf`: { header, length } once whole,
 * null while more bytes are needed; throws ProxyHeaderError when `buf` does
 * not start with a valid one.
 */
export function parseProxyHeader (buf: Buffer): { header: ProxiedAddress, length: number } | null {
  if (buf.length >= 1 && buf[0] === 0x50) return parseV1(buf) // 'P'
  if (buf.length >= 1 && buf[0] === 0x0d) return parseV2(buf)
  throw new ProxyHeaderError('no PROXY protocol header')
}

function parseV1 (buf: Buffer): { header: ProxiedAddress, length: number } | null {
  const end = buf.indexOf('\r\n')
  if (end === -1) {
    if (buf.length >= V1_MAX) throw new ProxyHeaderError('PROXY v1 line too long')
    if (!'PROXY '.startsWith(buf.subarray(0, 6).toString('latin1'))) throw new ProxyHeaderError('no PROXY protocol header')
    return null
  }
  const parts = buf.subarray(0, end).toString('latin1').split(' ')
  if (parts[0] !== 'PROXY') throw new ProxyHeaderError('no PROXY protocol header')
  if (parts[1] === 'UNKNOWN') return { header: { source: null }, length: end + 2 }
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new ProxyHeaderError(`malformed PROXY v1 line: ${parts.slice(0, 6).join(' ')}`)
  const [, family, src, , sport] = parts
  const port = Number(sport)
  if (!(family === 'TCP4' ? isIPv4(src) : isIPv6(src)) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ProxyHeaderError(`malformed PROXY v1 address: ${src} ${sport}`)
  }
  return { header: { source: { address: src, port } }, length: end + 2 }
}

function parseV2 (buf: Buffer): { header: ProxiedAddress, length: number } | null {
  const have = Math.min(buf.length, V2_SIG.length)
  if (!buf.subarray(0, have).equals(V2_SIG.subarray(0, have))) throw new ProxyHeaderError('no PROXY protocol header')
  if (buf.length < 16) return null
  const verCmd = buf[12]
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError(`PROXY v2 version ${verCmd >> 4}`)
  const len = buf.readUInt16BE(14)
  if (16 + len > V2_MAX) throw new ProxyHeaderError('PROXY v2 header too long')
  if (buf.length < 16 + len) return null
  const length = 16 + len
  if ((verCmd & 0x0f) === 0) return { header: { source: null }, length } // LOCAL
  const fam = buf[13] >> 4
  if (fam === 1 && len >= 12) return { header: { source: { address: `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`, port: buf.readUInt16BE(24) } }, length }
  if (fam === 2 && len >= 36) {
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + i * 2).toString(16))
    return { header: { source: { address: compressV6(groups), port: buf.readUInt16BE(48) } }, length }
  }
  return { header: { source: null }, length } // AF_UNSPEC / unix: no usable address
}

function compressV6 (groups: string[]): string {
  // The canonical form (RFC 5952) is not needed by anyone reading it here; the longest zero run is shortened.
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  if (bestLen < 2) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

/** Does `buf` start like a PROXY header (v1 or v2) as far as it goes? */
function startsLikeProxy (buf: Buffer): boolean {
  const v1 = 'PROXY '
  if (buf[0] === 0x50) {
    for (let i = 0; i < Math.min(buf.length, v1.length); i++) if (buf[i] !== v1.charCodeAt(i)) return false
    return true
  }
  const have = Math.min(buf.length, V2_SIG.length)
  return buf.subarray(0, have).equals(V2_SIG.subarray(0, have))
}

/**
 * Reads an optional PROXY header from a just-accepted socket whose peer is
 * trusted (a load balancer in front of the node may send one, or may speak
 * the protocol directly). `done` gets the client it names (null for a LOCAL
 * header; undefined when the peer sent none) and the bytes read past it; the
 * socket is left paused. A peer that starts a header and does not finish a
 * valid one within `timeoutMs` is cut; one that sends nothing that long is
 * handed on without a header.
 */
export function readProxyHeader (socket: Socket, timeoutMs: number, done: (source: ProxiedAddress['source'] | undefined, rest: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0)
  const timer = setTimeout(() => {
    if (buf.length > 0) {
      socket.destroy() // a header begun and never finished
      return
    }
    finish() // nothing yet: a protocol where the server speaks first, or a quiet client
    socket.pause()
    done(undefined, buf)
  }, timeoutMs)
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    if (!startsLikeProxy(buf)) {
      finish()
      socket.pause()
      done(undefined, buf)
      return
    }
    let parsed: ReturnType<typeof parseProxyHeader>
    try {
      parsed = parseProxyHeader(buf)
    } catch {
      finish()
      socket.destroy()
      return
    }
    if (parsed === null) return
    finish()
    socket.pause()
    done(parsed.header.source, buf.subarray(parsed.length))
  }
  const finish = (): void => {
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('close', finish)
  }
  socket.on('data', onData)
  socket.once('close', finish)
  socket.resume()
}

export interface Peer { address: string, port: number }

/** The PROXY header a node sends an endpoint: `source` the client, `destination` the address it reached. */
export function encodeProxyHeader (version: 1 | 2, source: Peer, destination: Peer): Buffer {
  const src = source.address
  const dst = destination.address
  const sport = source.port
  const dport = destination.port
  const v6 = isIPv6(src) || isIPv6(dst)
  if (version === 1) {
    if (src === '' || dst === '') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1')
    return Buffer.from(`PROXY ${v6 ? 'TCP6' : 'TCP4'} ${v6 ? asV6(src) : src} ${v6 ? asV6(dst) : dst} ${sport} ${dport}\r\n`, 'latin1')
  }
  const addrLen = v6 ? 36 : 12
  const out = Buffer.alloc(16 + addrLen)
  V2_SIG.copy(out, 0)
  out[12] = 0x21 // v2, PROXY
  out[13] = v6 ? 0x21 : 0x11 // INET6 or INET, STREAM
  out.writeUInt16BE(addrLen, 14)
  if (v6) {
    writeV6(out, 16, asV6(src))
    writeV6(out, 32, asV6(dst))
    out.writeUInt16BE(sport, 48)
    out.writeUInt16BE(dport, 50)
  } else {
    src.split('.').forEach((o, i) => { out[16 + i] = Number(o) })
    dst.split('.').forEach((o, i) => { out[20 + i] = Number(o) })
    out.writeUInt16BE(sport, 24)
    out.writeUInt16BE(dport, 26)
  }
  return out
}

/** An IPv4 address in the IPv4-mapped IPv6 form, IPv6 unchanged. */
function asV6 (addr: string): string {
  return isIPv4(addr) ? `::ffff:${addr}` : addr
}

function writeV6 (out: Buffer, at: number, addr: string): void {
  let text = addr
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const o = dotted[1].split('.').map(Number)
    text = `${text.slice(0, dotted.index)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null]
  const h = head === '' ? [] : head.split(':')
  const tl = tail === null || tail === '' ? [] : tail.split(':')
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl]
  groups.forEach((g, i) => { out.writeUInt16BE(parseInt(g, 16), at + i * 2) })
}
