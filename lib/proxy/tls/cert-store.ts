/**
 * The certificates a node terminates TLS with: cluster objects (name, PEM
 * certificate chain, PEM key), each turned once into a SecureContext with
 * the node's TLS profile, and found for a handshake by its SNI server name
 * against the names the certificate itself carries (subjectAltName DNS
 * entries, else its CN; `*.example.com` covers one label). Replacing a
 * certificate swaps its context: handshakes from then on use the new one,
 * connections already up keep theirs.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls'
import { createLogger } from '../../util/log'

const log = createLogger('tls')

export interface CertRecord {
  name: string
  /** PEM certificate chain, leaf first. */
  cert: string
  /** PEM private key. */
  key: string
}

export interface TlsProfile {
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher list for TLS 1.2 (1.3's suites are OpenSSL's defaults). */
  ciphers: string
}

/** Mozilla's "intermediate" configuration (TLS 1.2 and 1.3). */
export const INTERMEDIATE: TlsProfile = {
  minVersion: 'TLSv1.2',
  ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
    'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305'
}

/**
 * The TLS session id context every node uses. Node's default is a hash of
 * the process's command line, which differs from node to node (--name): a
 * session from one node would not resume on another even with the shared
 * ticket keys.
 */
export const SESSION_ID_CONTEXT = 'routemesh-https-v1'

interface Loaded { digest: string, record: CertRecord, readonly context: SecureContext, readonly names: string[] }

/** The DNS names a certificate is for (SAN DNS entries, else the subject CN), lower-cased. */
export function certNames (pem: string): string[] {
  const x = new X509Certificate(pem)
  const san = x.subjectAltName
  if (san !== undefined && san !== '') {
    const names = san.split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase())
    if (names.length > 0) return names
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)
  return cn !== null ? [cn[1].toLowerCase()] : []
}

export class CertStore {
  readonly #profile: TlsProfile
  /** Session ticket keys every context shares (the cluster's), so tickets resume on any node. */
  #ticketKeys: Buffer | null = null
  readonly #loaded = new Map<string, Loaded>()
  /** Exact server name -> certificate name; `.example.com` for `*.example.com`. */
  #exact = new Map<string, string>()
  #wildcard = new Map<string, string>()

  constructor (profile: TlsProfile) {
    this.#profile = profile
  }

  get size (): number { return this.#loaded.size }
  get ticketKeys (): Buffer | null { return this.#ticketKeys }

  /** The context options a certificate is loaded with (the profile, the shared ticket keys). */
  contextOptions (r: CertRecord): SecureContextOptions {
    return {
      cert: r.cert,
      key: r.key,
      minVersion: this.#profile.minVersion,
      ciphers: this.#profile.ciphers,
      ecdhCurve: 'X25519:prime256v1:secp384r1',
      sessionIdContext: SESSION_ID_CONTEXT,
      ...(this.#ticketKeys !== null ? { ticketKeys: this.#ticketKeys } : {})
    }
  }

  /** New cluster ticket keys: every context is made again with them. */
  setTicketKeys (keys: Buffer | null): void {
    if (keys === this.#ticketKeys || (keys !== null && this.#ticketKeys !== null && keys.equals(this.#ticketKeys))) return
    this.#ticketKeys = keys
    const records = [...this.#loaded.values()].map((l) => l.record)
    this.#loaded.clear()
    this.update(records)
  }

  /** Brings the store in line with the cluster's certificates; a bad one is logged and left out. */
  update (records: Iterable<CertRecord>): void {
    const seen = new Set<string>()
    for (const r of records) {
      seen.add(r.name)
      if (this.#loaded.get(r.name)?.record === r) continue // the same record object as last time: nothing to hash
      const digest = createHash('sha256').update(r.cert).update('\0').update(r.key).digest('hex')
      const had = this.#loaded.get(r.name)
      if (had?.digest === digest) { had.record = r; continue }
      try {
        const context = createSecureContext(this.contextOptions(r))
        this.#loaded.set(r.name, { digest, record: r, context, names: certNames(r.cert) })
      } catch (err) {
        // The message names the certificate, never its key.
        log.once(`bad ${r.name} ${digest}`, 'warn', `certificate ${r.name} cannot be used: ${(err as Error).message.split('\n')[0]}`)
      }
    }
    for (const name of [...this.#loaded.keys()]) if (!seen.has(name)) this.#loaded.delete(name)
    const exact = new Map<string, string>()
    const wildcard = new Map<string, string>()
    for (const [name, l] of [...this.#loaded].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const n of l.names) {
        if (n.startsWith('*.')) { if (!wildcard.has(n.slice(1))) wildcard.set(n.slice(1), name) } else if (!exact.has(n)) exact.set(n, name)
      }
    }
    this.#exact = exact
    this.#wildcard = wildcard
  }

  /** The context for a certificate by its cluster name. */
  byName (name: string): SecureContext | null {
    return this.#loaded.get(name)?.context ?? null
  }

  record (name: string): CertRecord | null {
    return this.#loaded.get(name)?.record ?? null
  }

  /** The certificate name for an SNI server name, or null. */
  nameFor (servername: string): string | null {
    const host = servername.toLowerCase()
    const exact = this.#exact.get(host)
    if (exact !== undefined) return exact
    const dot = host.indexOf('.')
    return dot === -1 ? null : this.#wildcard.get(host.slice(dot)) ?? null
  }
}
