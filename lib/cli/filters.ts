/**
 * `-f, --filter KEY=VALUE` as docker takes it: a filter given several
 * times with one key matches any of its values; different keys must all
 * match. Keys and (where they are an enumeration) values are checked
 * before the registry is read.
 */
import { MeshError } from '../errors'
import type { Flag } from './flags'

export type Filters = Map<string, string[]>

export function filterFlag (keys: readonly string[]): Flag {
  return { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: `Filter output based on conditions provided (${keys.join(', ')})` }
}

/** `allowed`: key -> its values, or null for any value. */
export function parseFilters (texts: string[], allowed: Record<string, readonly string[] | null>): Filters {
  const out: Filters = new Map()
  for (const text of texts) {
    const eq = text.indexOf('=')
    if (eq <= 0) throw new MeshError('MESH_ERR_USAGE', `--filter: "${text}" is not KEY=VALUE (keys: ${Object.keys(allowed).join(', ')})`)
    const key = text.slice(0, eq)
    const value = text.slice(eq + 1)
    if (!Object.hasOwn(allowed, key)) throw new MeshError('MESH_ERR_USAGE', `--filter: invalid filter '${key}' (keys: ${Object.keys(allowed).join(', ')})`)
    const values = allowed[key]
    if (values !== null && !values.includes(value)) {
      throw new MeshError('MESH_ERR_USAGE', `--filter ${key}: "${value}" is not one of ${values.join(', ')}`)
    }
    out.set(key, [...(out.get(key) ?? []), value])
  }
  return out
}

/** True when, for every key given, one of its values matches by `test`. */
export function matches (filters: Filters, test: (key: string, value: string) => boolean): boolean {
  for (const [key, values] of filters) if (!values.some((v) => test(key, v))) return false
  return true
}
