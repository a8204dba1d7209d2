/**
 * Decodes registry records with their schema (types.ts): a record that is not
 * valid JSON, has another schema version, or has any field missing or of the
 * wrong kind is rejected (ok: false + one reason naming the field), never
 * thrown. Readers skip it with one log line naming the key, so everything
 * downstream trusts every field of every record it is handed.
 */
import { SCHEMA_VERSION, SCHEMAS, PART_SCHEMAS, type HealthRecord, type NodeRecord, type PartOf, type PartType, type RecordOf, type RecordType, type ServiceSpec, type TaskRecord } from './types'
import type { Schema } from './schema'

export type AnyRecord = ServiceSpec | TaskRecord | HealthRecord | NodeRecord

export type Decoded<T> = { ok: true, value: T } | { ok: false, reason: string }

function decodeWith<T> (schema: Schema<unknown>, json: string): Decoded<T> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return { ok: false, reason: 'not valid JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' }
  const v = (parsed as { v?: unknown }).v
  if (v !== SCHEMA_VERSION) return { ok: false, reason: `unknown schema version ${JSON.stringify(v) ?? 'none'} (this node reads version ${SCHEMA_VERSION})` }
  const reason = schema.check(parsed, '')
  return reason === null ? { ok: true, value: parsed as T } : { ok: false, reason }
}

/** A record as readers see it (a task or node merged from its parts, parts.ts). */
export function decodeRecord<K extends RecordType> (type: K, json: string): Decoded<RecordOf[K]> {
  return decodeWith(SCHEMAS[type], json)
}

/** One stored part, as it is kept in its hash. */
export function decodePart<K extends PartType> (part: K, json: string): Decoded<PartOf[K]> {
  return decodeWith(PART_SCHEMAS[part], json)
}
