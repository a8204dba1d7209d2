/**
 * A list of CIDRs (`10.0.0.0/8`, `fd00::/8`, or a bare address for one
 * host) from YAML (a list) or a flag/env (comma-separated), validated into
 * canonical `address/prefix` strings. proxy.trustedProxies uses it.
 */
import { isIP } from 'node:net'
import { MeshError } from '../errors'

export function parseCidrList (key: string, value: unknown): readonly string[] {
  const items = Array.isArray(value) ? value : value === '' || value == null ? [] : String(value).split(',')
  const out: string[] = []
  for (const item of items) {
    const text = String(item).trim()
    if (text === '') continue
    const slash = text.indexOf('/')
    const addr = slash === -1 ? text : text.slice(0, slash)
    const family = isIP(addr)
    const max = family === 6 ? 128 : 32
    const prefix = slash === -1 ? max : /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN
    if (family === 0 || !(prefix >= 0 && prefix <= max)) {
      throw new MeshError('MESH_ERR_CONFIG', `config key ${key}: ${JSON.stringify(text)} is not a CIDR like 10.0.0.0/8 or an IP address`)
    }
    out.push(`${addr}/${prefix}`)
  }
  return Object.freeze(out)
}
