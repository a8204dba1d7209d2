/**
 * Published-port rules.
 *
 * `PUB:TARGET` and `PUB:TARGET/http` publish L7 HTTP, `PUB:TARGET/tcp` L4 TCP.
 * One published port is one listener on every node, so:
 * - a tcp port belongs to exactly one service;
 * - an http port without host names belongs to exactly one service;
 * - several http services may share a port when EVERY one of them names its
 *   hosts (--host) and no host name appears in two of them. An exact name and
 *   a wildcard that covers it (`api.example.com`, `*.example.com`) may live in
 *   different services: the exact name wins, as in nginx and traefik.
 */
import { MeshError } from '../errors'
import type { Protocol, PublishedPort, ServiceSpec } from '../registry/types'
import { parsePort } from '../util/address'

const PUBLISH = /^(?:([^:/]+):)?([^:/]+)(?:\/([a-z]+))?$/

/** Where a bare `--publish TARGET` gets its published port: docker's ingress range. */
export const DYNAMIC_PORTS = { from: 30000, to: 32767 }

/**
 * `PUB:TARGET[/http|/tcp]`, or `TARGET[/proto]` alone (docker's form): then
 * `published` is 0 until assignPublishedPorts picks one when the service is
 * written.
 */
export function parsePublish (text: string, what = '--publish'): PublishedPort {
  const m = PUBLISH.exec(text.trim())
  if (m === null) {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${text}" is not [PUBLISHED:]TARGET[/http|/tcp] (e.g. 8080:80, 80 or 5432:5432/tcp)`)
  }
  const published = m[1] === undefined ? 0 : parsePort(m[1], `${what} ${text}: published port`)
  const target = parsePort(m[2], `${what} ${text}: target port`)
  const proto = m[3] ?? 'http'
  if (proto !== 'http' && proto !== 'tcp') {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${text}" has protocol "${proto}"; use /http (the default) or /tcp`)
  }
  return { published, target, protocol: proto as Protocol }
}

/**
 * Gives every port published as 0 (a bare `--publish TARGET`) the lowest
 * port of DYNAMIC_PORTS that no service publishes, as docker's ingress does.
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

/** A service's own list: each published port once. */
export function checkOwnPorts (ports: PublishedPort[]): void {
  const seen = new Set<number>()
  for (const p of ports) {
    if (p.published === 0) continue // assigned a free port when written
    if (seen.has(p.published)) {
      throw new MeshError('MESH_ERR_PORT_CONFLICT', `published port ${p.published} is given twice; publish each port once`)
    }
    seen.add(p.published)
  }
}

export interface PortClaim {
  name: string
  ports: PublishedPort[]
  hosts: string[]
}

/** Why `a` and `b` cannot share published port `port`, or null when they can. */
function clash (port: number, a: PortClaim, pa: PublishedPort, b: PortClaim, pb: PublishedPort): string | null {
  if (pa.protocol === 'tcp' || pb.protocol === 'tcp') {
    return `published port ${port} is already used by service ${b.name} (${pb.protocol}); a tcp port belongs to one service`
  }
  if (a.hosts.length === 0 || b.hosts.length === 0) {
    return `published port ${port} is already used by service ${b.name}; to share an http port, every service on it needs --host names`
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
  for (const other of services) {
    if (other.name === claim.name) continue
    for (const mine of claim.ports) {
      const theirs = other.ports.find((p) => p.published === mine.published)
      if (theirs === undefined) continue
      const why = clash(mine.published, claim, mine, other, theirs)
      if (why !== null) throw new MeshError('MESH_ERR_PORT_CONFLICT', why)
    }
  }
}

export function samePorts (a: PublishedPort[], b: PublishedPort[]): boolean {
  if (a.length !== b.length) return false
  return a.every((p, i) => p.published === b[i].published && p.target === b[i].target && p.protocol === b[i].protocol)
}
