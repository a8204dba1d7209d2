/**
 * Published-port rules.
 *
 * `PUB:TARGET[/PROTO]` publishes PUB on every node, PROTO one of:
 * - `http` (the default): L7 HTTP;
 * - `https`: L7 HTTP behind TLS termination (the cluster's certificates);
 * - `tcp`: L4, bytes bridged to the endpoint;
 * - `tls`: L4 TLS passthrough, routed by the ClientHello's SNI (--host);
 * - `udp`: datagrams relayed per flow.
 * TCP and UDP are separate port spaces: 53/tcp and 53/udp are different
 * ports (one service may publish both). Within one space one published port
 * is one listener on every node, so:
 * - it speaks one protocol (an http and an https service cannot share it);
 * - a tcp or udp port belongs to exactly one service;
 * - an http, https or tls port without host names belongs to one service;
 * - several http, https or tls services may share a port when EVERY one of
 *   them names its hosts (--host: the Host header, or the SNI for tls) and
 *   no host name appears in two of them. An exact name and a wildcard that
 *   covers it (`api.example.com`, `*.example.com`) may live in different
 *   services: the exact name wins, as in nginx and traefik.
 */
import { MeshError } from '../errors'
import type { Protocol, PublishedPort, ServiceSpec } from '../registry/types'
import { parsePort } from '../util/address'

const PUBLISH = /^(?:([^:/]+):)?([^:/]+)(?:\/([a-z0-9]+))?$/

export const PROTOCOLS: readonly Protocol[] = ['http', 'https', 'tcp', 'tls', 'udp']

/** Protocols whose port several services may share, told apart by --host (Host header or SNI). */
const SHARED_BY_NAME: ReadonlySet<Protocol> = new Set<Protocol>(['http', 'https', 'tls'])

/** Where a bare `--publish TARGET` gets its published port: docker's ingress range. */
export const DYNAMIC_PORTS = { from: 30000, to: 32767 }

/** The port space a protocol's listener binds: udp, or tcp for every other. */
export function portSpace (p: Protocol): 'tcp' | 'udp' {
  return p === 'udp' ? 'udp' : 'tcp'
}

/** Two published ports are the same listener: the same number in the same port space. */
export function sameListener (a: PublishedPort, b: PublishedPort): boolean {
  return a.published === b.published && portSpace(a.protocol) === portSpace(b.protocol)
}

/**
 * `PUB:TARGET[/http|https|tcp|tls|udp]`, or `TARGET[/proto]` alone (docker's
 * form): then `published` is 0 until assignPublishedPorts picks one when the
 * service is written.
 */
export function parsePublish (text: string, what = '--publish'): PublishedPort {
  const m = PUBLISH.exec(text.trim())
  if (m === null) {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${text}" is not [PUBLISHED:]TARGET[/${PROTOCOLS.join('|')}] (e.g. 8080:80, 443:80/https, 5432:5432/tcp or 53:53/udp)`)
  }
  const published = m[1] === undefined ? 0 : parsePort(m[1], `${what} ${text}: published port`)
  const target = parsePort(m[2], `${what} ${text}: target port`)
  const proto = m[3] ?? 'http'
  if (!(PROTOCOLS as readonly string[]).includes(proto)) {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${text}" has protocol "${proto}"; use /http (the default), /https, /tcp, /tls or /udp`)
  }
  return { published, target, protocol: proto as Protocol }
}

/**
 * Gives every port published as 0 (a bare `--publish TARGET`) the lowest
 * port of DYNAMIC_PORTS that no service publishes (in either port space), as
 * docker's ingress does.
 */
export function assignPublishedPorts (ports: PublishedPort[], services: Iterable<ServiceSpec>, self = ''): PublishedPort[] {
  if (ports.every((p) => p.published !== 0)) return ports
  const taken = new Set<number>(ports.map((p) => p.published))
  for (const s of services) if (s.name !== self) for (const p of s.ports) taken.add(p.published)
  let next = DYNAMIC_PORTS.from
  return ports.map((p) => {
    if (p.published !== 0) return p
    while (next <= DYNAMIC_PORTS.to && taken.has(next)) next++
    if (next > DYNAMIC_PORTS.to) {
      throw new MeshError('MESH_ERR_PORT_CONFLICT', `no free port left in ${DYNAMIC_PORTS.from}-${DYNAMIC_PORTS.to} for --publish ${p.target}; publish it as PUBLISHED:${p.target}`)
    }
    taken.add(next)
    return { ...p, published: next++ }
  })
}

/** A service's own list: each published port once per port space (53/tcp and 53/udp may both be there). */
export function checkOwnPorts (ports: PublishedPort[]): void {
  const seen = new Set<string>()
  for (const p of ports) {
    if (p.published === 0) continue // assigned a free port when written
    const key = `${p.published}/${portSpace(p.protocol)}`
    if (seen.has(key)) {
      const port = p.protocol === 'udp' ? key : String(p.published)
      throw new MeshError('MESH_ERR_PORT_CONFLICT', `published port ${port} is given twice; publish each port once (a udp port may share its number with a tcp, http, https or tls one)`)
    }
    seen.add(key)
  }
}

export interface PortClaim {
  name: string
  ports: PublishedPort[]
  hosts: string[]
}

/** Why `a` and `b` cannot share published port `port` (same port space), or null when they can. */
function clash (port: number, a: PortClaim, pa: PublishedPort, b: PortClaim, pb: PublishedPort): string | null {
  if (pa.protocol !== pb.protocol) {
    return `published port ${port} is already used by service ${b.name} as ${pb.protocol}; one port speaks one protocol (this one ${pa.protocol})`
  }
  if (!SHARED_BY_NAME.has(pa.protocol)) {
    return `published port ${port} is already used by service ${b.name} (${pb.protocol}); a ${pa.protocol} port belongs to one service`
  }
  if (a.hosts.length === 0 || b.hosts.length === 0) {
    const by = pa.protocol === 'tls' ? '--host names (the SNI names it answers)' : '--host names'
    return `published port ${port} is already used by service ${b.name}; to share an ${pa.protocol} port, every service on it needs ${by}`
  }
  const theirs = new Set(b.hosts)
  const both = a.hosts.find((h) => theirs.has(h))
  if (both !== undefined) {
    return `published port ${port} is already used by service ${b.name} for host ${both}; host names on a shared port must differ`
  }
  return null
}

/** Refuses `claim` (MESH_ERR_PORT_CONFLICT) if it collides with any other service. */
export function checkPortConflicts (claim: PortClaim, services: Iterable<ServiceSpec>): void {
  checkOwnPorts(claim.ports)
  // Oldest first, as the nodes' tables give a contested port to the first-created service: the message names that one.
  const others = [...services].sort((a, b) => (a.createdAt - b.createdAt) || (a.name < b.name ? -1 : 1))
  for (const other of others) {
    if (other.name === claim.name) continue
    for (const mine of claim.ports) {
      const theirs = other.ports.find((p) => sameListener(p, mine))
      if (theirs === undefined) continue
      const why = clash(mine.published, claim, mine, other, theirs)
      if (why !== null) throw new MeshError('MESH_ERR_PORT_CONFLICT', why)
    }
  }
}

/**
 * `--publish-rm PUB[/PROTO]`: which of `ports` it names. A bare number names
 * the port in every space; `/udp` the udp one; `/tcp` the tcp-space one
 * (service ls shows http ports as /tcp, as docker does); `/http`, `/https`,
 * `/tls` that protocol exactly.
 */
export function parsePublishRm (text: string, what = '--publish-rm'): (p: PublishedPort) => boolean {
  const m = /^(?:[^:/]+:)?([^:/]+)(?:\/([a-z0-9]+))?$/.exec(text.trim())
  const number = parsePort(m?.[1] ?? text, `${what} ${text}`)
  const proto = m?.[2]
  if (proto === undefined) return (p) => p.published === number
  if (!(PROTOCOLS as readonly string[]).includes(proto)) {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${text}" has protocol "${proto}"; use PUB, PUB/tcp, PUB/udp, PUB/http, PUB/https or PUB/tls`)
  }
  if (proto === 'tcp') return (p) => p.published === number && portSpace(p.protocol) === 'tcp'
  return (p) => p.published === number && p.protocol === proto
}

export function samePorts (a: PublishedPort[], b: PublishedPort[]): boolean {
  if (a.length !== b.length) return false
  return a.every((p, i) => p.published === b[i].published && p.target === b[i].target && p.protocol === b[i].protocol)
}
