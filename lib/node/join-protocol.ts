/**
 * The join exchange, over the registry (README "Membership"):
 *
 * 1. The joining node authenticates as its role's joiner user (the token's
 *    secret is its password) and appends a request to `<prefix>join:<role>`:
 *    a request id, the name and advertise address it asks for, and a fresh
 *    X25519 public key.
 * 2. The leading manager creates the node's own Redis user and records, and
 *    answers in `<prefix>join-reply:<request id>` (a key every joiner may
 *    read, for a short while): the credential sealed to that public key
 *    (ECDH X25519, HKDF-SHA256, AES-256-GCM: node:crypto's primitives), or a
 *    refusal in clear. Another token holder reading the reply learns nothing.
 */
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'

const INFO = Buffer.from('routemesh join v1')

/** What the joining node receives: its identity and its credential. */
export interface JoinGrant {
  nodeId: string
  user: string
  password: string
  role: 'worker' | 'manager'
  cluster: string
}

export type JoinReply = { ok: true, sealed: string } | { ok: false, error: string }

export interface RequestKeys { publicKey: string, privateKey: KeyObject }

export function newRequestKeys (): RequestKeys {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  return { publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey }
}

/** The public key of a request, or null when it is not an X25519 key. */
export function requestKey (text: string): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' })
    return key.asymmetricKeyType === 'x25519' ? key : null
  } catch {
    return null
  }
}

function keyFor (shared: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, salt, INFO, 32))
}

export function seal (to: KeyObject, grant: JoinGrant): string {
  const eph = generateKeyPairSync('x25519')
  const epk = eph.publicKey.export({ type: 'spki', format: 'der' })
  const key = keyFor(diffieHellman({ privateKey: eph.privateKey, publicKey: to }), epk)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ct = Buffer.concat([cipher.update(JSON.stringify(grant), 'utf8'), cipher.final()])
  return [epk, iv, ct, cipher.getAuthTag()].map((b) => b.toString('base64')).join('.')
}

/** Opens a sealed grant; throws when it was not sealed to this key or was tampered with. */
export function open (privateKey: KeyObject, sealed: string): JoinGrant {
  const [epk, iv, ct, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64'))
  const key = keyFor(diffieHellman({ privateKey, publicKey: createPublicKey({ key: epk, format: 'der', type: 'spki' }) }), epk)
  const decipher = createDecipheriv('aes-256-gcm', key, iv)
  decipher.setAuthTag(tag)
  const text = Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')
  const g = JSON.parse(text) as JoinGrant
  if (typeof g.nodeId !== 'string' || typeof g.user !== 'string' || typeof g.password !== 'string' || (g.role !== 'worker' && g.role !== 'manager')) {
    throw new Error('the join reply does not hold a credential')
  }
  return g
}
