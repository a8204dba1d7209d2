/**
 * Decodes registry records with their schema (types.ts): a record that is not
 * valid JSON, has another schema version, or has any field missing or of the
 * wrong kind is rejected (ok: false + one reason naming the field), never
 * thrown. Readers skip it with one log line naming the key, so everything
 * downstream trusts every field of every record it is handed.
 */
import { SCHEMA_VERSION, SCHEMAS, type HealthRecord, type NodeRecord, type RecordOf, type RecordType, type ServiceSpec, type TaskRecord } from './types'

export type AnyRecord = ServiceSpec | TaskRecord | HealthRecord | NodeRecord

export type Decoded<T> = { ok: true, value: T } | { ok: false, reason: string }

export function decodeRecord<K extends RecordType> (type: K, json: string): Decoded<RecordOf[K]> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return { ok: false, reason: 'not valid JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' }
  const v = (parsed as { v?: unknown }).v
  if (v !== SCHEMA_VERSION) return { ok: false, reason: `unknown schema version ${JSON.stringify(v) ?? 'none'} (this node reads version ${SCHEMA_VERSION})` }
  const reason = SCHEMAS[type].check(parsed, '')
  return reason === null ? { ok: true, value: parsed as RecordOf[K] } : { ok: false, reason }
}
