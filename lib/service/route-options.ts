/**
 * A service's route options (spec.options) from `service create` and
 * `service update` flags: --backend, --cert, --proxy-protocol and
 * --redirect-https. They say how the nodes route to the service, not what
 * its tasks run, so changing them never restarts a task (no version bump).
 *
 * Each option applies to some of the service's ports; one that applies to
 * none of them is refused (a usage error), so a flag never silently does
 * nothing. Whether a --cert names a certificate the registry holds is
 * checked against the snapshot the write is planned on (checkCertExists).
 */
import { MeshError } from '../errors'
import type { Snapshot } from '../registry/store'
import type { Protocol, PublishedPort, ServiceRouteOptions } from '../registry/types'
import type { FlagValues } from './spec'
import { enumValue } from './values'

export type Backend = ServiceRouteOptions['backend']
export type ProxyProtocol = ServiceRouteOptions['proxyProtocol']

export const BACKENDS: readonly Backend[] = ['http1', 'h2c', 'h2']
/** What --proxy-protocol takes, and what each means. */
const PROXY_PROTOCOL: Record<string, ProxyProtocol> = { 0: 0, off: 0, 1: 1, v1: 1, 2: 2, v2: 2 }
export const PROXY_PROTOCOL_VALUES: readonly string[] = ['0', '1', '2', 'v1', 'v2']

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/

export const DEFAULT_OPTIONS: Readonly<ServiceRouteOptions> = Object.freeze({ backend: 'http1', cert: null, proxyProtocol: 0, redirectHttps: false })

/** The options flags given: only those present (update merges them over the service's). */
export interface OptionChanges {
  backend?: Backend
  /** null: `--cert ''` (none). */
  cert?: string | null
  proxyProtocol?: ProxyProtocol
  redirectHttps?: boolean
}

export function certName (text: string, what: string): string {
  if (!NAME.test(text)) {
    throw new MeshError('MESH_ERR_INVALID_NAME', `${what}: "${text}" is not a valid certificate name (letters, digits, _ . -, starting with a letter or digit, at most 63)`)
  }
  return text
}

export function proxyProtocolValue (text: string, what = '--proxy-protocol'): ProxyProtocol {
  const v = PROXY_PROTOCOL[text.trim().toLowerCase()]
  if (v === undefined) throw new MeshError('MESH_ERR_USAGE', `${what}: "${text}" is not one of 0 (off), 1 or v1, 2 or v2`)
  return v
}

export function optionFlags (v: FlagValues): OptionChanges {
  const out: OptionChanges = {}
  const backend = v.backend
  if (typeof backend === 'string') out.backend = enumValue(backend, '--backend', BACKENDS)
  const cert = v.cert
  if (typeof cert === 'string') out.cert = cert === '' ? null : certName(cert, '--cert')
  const pp = v['proxy-protocol']
  if (typeof pp === 'string') out.proxyProtocol = proxyProtocolValue(pp)
  const redirect = v['redirect-https']
  if (typeof redirect === 'boolean') out.redirectHttps = redirect
  return out
}

export function hasOptionChanges (c: OptionChanges): boolean {
  return Object.keys(c).length > 0
}

/** A stored spec's options: absent in records older than them, the defaults then. */
export function optionsOf (stored: ServiceRouteOptions | undefined): ServiceRouteOptions {
  return stored ?? { ...DEFAULT_OPTIONS }
}

export function applyOptions (base: ServiceRouteOptions, c: OptionChanges): ServiceRouteOptions {
  return {
    backend: c.backend ?? base.backend,
    cert: c.cert !== undefined ? c.cert : base.cert,
    proxyProtocol: c.proxyProtocol ?? base.proxyProtocol,
    redirectHttps: c.redirectHttps ?? base.redirectHttps
  }
}

const any = (ports: PublishedPort[], ...protocols: Protocol[]): boolean => ports.some((p) => protocols.includes(p.protocol))

/**
 * Refuses (usage) host names and options that apply to none of the
 * service's ports. `update` adds how to clear an option that a port change
 * left without a port.
 */
export function checkOptionsFit (name: string, ports: PublishedPort[], hosts: string[], o: ServiceRouteOptions, update = false): void {
  const usage = (m: string): MeshError => new MeshError('MESH_ERR_USAGE', `service ${name}: ${m}`)
  if (hosts.length > 0 && ports.length > 0 && !any(ports, 'http', 'https', 'tls')) {
    throw usage(`--host names apply to http, https and tls ports; it publishes only ${[...new Set(ports.map((p) => p.protocol))].join(' and ')} ports`)
  }
  if (o.cert !== null && !any(ports, 'https')) {
    throw usage(`--cert ${o.cert} is the certificate of https ports, and it publishes none (publish one, e.g. --publish${update ? '-add' : ''} 443:80/https${update ? ', or clear it with --cert \'\'' : ''})`)
  }
  if (o.proxyProtocol !== 0 && !any(ports, 'tcp', 'tls')) {
    throw usage(`--proxy-protocol ${o.proxyProtocol} applies to tcp and tls ports (L4), and it publishes none${update ? ' (clear it with --proxy-protocol 0)' : ''}`)
  }
  if (o.backend !== 'http1' && !any(ports, 'http', 'https')) {
    throw usage(`--backend ${o.backend} applies to http and https ports, and it publishes none${update ? ' (clear it with --backend http1)' : ''}`)
  }
  if (o.redirectHttps && !any(ports, 'http')) {
    throw usage(`--redirect-https applies to plain http ports, and it publishes none${update ? ' (clear it with --redirect-https=false)' : ''}`)
  }
}

/** Refuses (MESH_ERR_CERT_NOT_FOUND) a --cert the registry does not hold. */
export function checkCertExists (snap: Pick<Snapshot, 'parts'>, cert: string | null): void {
  if (cert === null || snap.parts.certs.has(cert)) return
  throw new MeshError('MESH_ERR_CERT_NOT_FOUND', `--cert ${cert}: no such certificate; create it first with mesh cert create ${cert} --cert FILE --key FILE (mesh cert ls lists them)`)
}
