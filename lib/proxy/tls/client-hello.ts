/**
 * Reads the server name (SNI) out of a TLS ClientHello without terminating
 * TLS (passthrough routing, Traefik's HostSNI): the handshake records are
 * collected until the ClientHello is whole (it may span several records),
 * then its extensions are walked. Nothing here decrypts or answers; the
 * bytes are forwarded to the endpoint as they came.
 */

/** A ClientHello larger than this is refused (post-quantum key shares make them a few KiB). */
const MAX_HELLO = 64 * 1024

export type HelloResult =
  | { kind: 'more' }
  | { kind: 'sni', name: string }
  | { kind: 'none' } // a ClientHello without a server name
  | { kind: 'invalid', why: string }

/** What the bytes received so far say. */
export function readClientHello (buf: Buffer): HelloResult {
  if (buf.length > MAX_HELLO) return { kind: 'invalid', why: 'ClientHello too large' }
  // The handshake stream, from as many records as it takes to hold the whole ClientHello.
  let hs = Buffer.alloc(0)
  let at = 0
  while (hs.length < 4 || hs.length < 4 + hs.readUIntBE(1, 3)) {
    if (hs.length >= 1 && hs[0] !== 0x01) return { kind: 'invalid', why: 'the first handshake message is not a ClientHello' }
    if (at + 5 > buf.length) return { kind: 'more' }
    if (buf[at] !== 0x16) return { kind: 'invalid', why: at === 0 ? 'not a TLS handshake' : 'a record of another kind inside the ClientHello' }
    if (buf[at + 1] !== 3) return { kind: 'invalid', why: 'not TLS' }
    const len = buf.readUInt16BE(at + 3)
    if (at + 5 + len > buf.length) return { kind: 'more' }
    hs = Buffer.concat([hs, buf.subarray(at + 5, at + 5 + len)])
    at += 5 + len
  }
  if (hs[0] !== 0x01) return { kind: 'invalid', why: 'the first handshake message is not a ClientHello' }
  return sniOf(hs.subarray(4, 4 + hs.readUIntBE(1, 3)))
}

function sniOf (b: Buffer): HelloResult {
  let p = 2 + 32 // client_version, random
  if (p + 1 > b.length) return bad()
  p += 1 + b[p] // session id
  if (p + 2 > b.length) return bad()
  p += 2 + b.readUInt16BE(p) // cipher suites
  if (p + 1 > b.length) return bad()
  p += 1 + b[p] // compression methods
  if (p === b.length) return { kind: 'none' } // no extensions at all
  if (p + 2 > b.length) return bad()
  const end = p + 2 + b.readUInt16BE(p)
  if (end > b.length) return bad()
  p += 2
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p)
    const len = b.readUInt16BE(p + 2)
    p += 4
    if (p + len > end) return bad()
    if (type === 0) { // server_name
      let q = p + 2
      const listEnd = p + 2 + b.readUInt16BE(p)
      if (listEnd > p + len) return bad()
      while (q + 3 <= listEnd) {
        const nameType = b[q]
        const nameLen = b.readUInt16BE(q + 1)
        q += 3
        if (q + nameLen > listEnd) return bad()
        if (nameType === 0) {
          const name = b.subarray(q, q + nameLen).toString('latin1').toLowerCase()
          return /^[a-z0-9.-]+$/.test(name) ? { kind: 'sni', name } : { kind: 'invalid', why: 'a server name that is not a host name' }
        }
        q += nameLen
      }
      return { kind: 'none' }
    }
    p += len
  }
  return { kind: 'none' }
}

function bad (): HelloResult {
  return { kind: 'invalid', why: 'malformed ClientHello' }
}
