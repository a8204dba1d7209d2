/**
 * What the CLI shows of a cluster certificate: the names it covers, its
 * validity and identity, read from the stored PEM chain. Never the key:
 * nothing here reads the record's key field.
 */
import { X509Certificate } from 'node:crypto'
import type { Snapshot } from '../registry/store'
import type { CertRecord, ServiceSpec } from '../registry/types'
import { certNames } from '../proxy/tls/cert-store'

export interface CertInfo {
  name: string
  /** The DNS names a handshake's SNI is matched against (SAN DNS entries, else the CN), as the nodes read them. */
  names: string[]
  subject: string
  issuer: string
  serialNumber: string
  /** SHA-256 of the leaf, colon-separated hex (openssl x509 -fingerprint -sha256). */
  fingerprint: string
  notBefore: string
  notAfter: string
  /** e.g. `ec prime256v1`, `rsa 2048`. */
  keyType: string
  /** Certificates in the stored chain, the leaf included. */
  chainLength: number
  /** Services that name it with --cert. */
  services: string[]
  createdAt: string
  updatedAt: string
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** OpenSSL's `validTo` text (`Dec  3 23:13:56 2026 GMT`) as ms; Node 20 has no validToDate. */
const when = (text: string): number => new Date(text).getTime()

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

function keyType (x: X509Certificate): string {
  const d = x.publicKey.asymmetricKeyDetails ?? {}
  const type = x.publicKey.asymmetricKeyType ?? 'unknown'
  if (d.namedCurve !== undefined) return `${type} ${d.namedCurve}`
  if (d.modulusLength !== undefined) return `${type} ${d.modulusLength}`
  return type
}

/** The services whose current spec names certificate `name` (--cert). */
export function servicesUsing (services: Iterable<ServiceSpec>, name: string): string[] {
  const out: string[] = []
  for (const s of services) if (s.options?.cert === name) out.push(s.name)
  return out.sort()
}

/** When the leaf certificate stops being valid (ms), NaN when it cannot be read. */
export function notAfterOf (r: CertRecord): number {
  try {
    return when(new X509Certificate(r.cert).validTo)
  } catch {
    return NaN
  }
}

export function certInfo (r: CertRecord, snap: Pick<Snapshot, 'services'>): CertInfo {
  const x = new X509Certificate(r.cert)
  return {
    name: r.name,
    names: certNames(r.cert),
    subject: x.subject.replaceAll('\n', ', '),
    issuer: x.issuer.replaceAll('\n', ', '),
    serialNumber: x.serialNumber,
    fingerprint: x.fingerprint256,
    notBefore: isoDate(when(x.validFrom)),
    notAfter: isoDate(when(x.validTo)),
    keyType: keyType(x),
    chainLength: [...r.cert.matchAll(CERT_BLOCK)].length,
    services: servicesUsing(snap.services.values(), r.name),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt)
  }
}

export function isoDate (ms: number): string {
  return Number.isFinite(ms) ? iso(ms) : '-'
}
