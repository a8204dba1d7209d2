import { isIP } from 'node:net'
import { MeshError } from '../errors'

export interface HostPort { host: string; port: number }

const NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

/** Parses a port number 1-65535; `what` names the flag or key in the error. */
export function parsePort (value: string | number, what: string): number {
  const text = String(value).trim()
  const n = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new MeshError('MESH_ERR_INVALID_PORT', `${what}: "${String(value)}" is not a port (an integer from 1 to 65535)`)
  }
  return n
}

/** Parses `HOST:PORT` or `[v6]:PORT`; HOST is an IP or a DNS name. */
export function parseHostPort (value: string, what: string): HostPort {
  const text = value.trim()
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    host = end > 0 ? text.slice(1, end) : ''
    portText = end > 0 && text[end + 1] === ':' ? text.slice(end + 2) : ''
    if (isIP(host) !== 6) host = ''
  } else {
    const colon = text.lastIndexOf(':')
    host = colon > 0 ? text.slice(0, colon) : ''
    portText = colon > 0 ? text.slice(colon + 1) : ''
    if (host.includes(':')) host = ''
  }
  if (host === '' || (isIP(host) === 0 && !NAME.test(host))) {
    throw new MeshError('MESH_ERR_INVALID_ENDPOINT', `${what}: "${value}" is not HOST:PORT (e.g. 127.0.0.31:9001)`)
  }
  let port: number
  try {
    port = parsePort(portText, what)
  } catch {
    throw new MeshError('MESH_ERR_INVALID_ENDPOINT', `${what}: "${value}" has no valid port (HOST:PORT, port 1-65535)`)
  }
  return { host, port }
}

export function formatHostPort (host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/** A DNS host name, or a `*.example.com` wildcard, lower-cased. */
export function parseHostName (value: string, what: string): string {
  const text = value.trim().toLowerCase()
  const bare = text.startsWith('*.') ? text.slice(2) : text
  if (!NAME.test(bare) || bare.length > 253) {
    throw new MeshError('MESH_ERR_INVALID_HOST', `${what}: "${value}" is not a host name (e.g. api.local or *.example.com)`)
  }
  return text
}
