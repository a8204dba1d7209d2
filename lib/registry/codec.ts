/**
 * Decodes registry records. A record that is not valid JSON or lacks a field
 * the data plane relies on is rejected (null + reason), never thrown: the
 * reader skips it with a log line naming the key.
 */
import type { HealthRecord, NodeRecord, RecordType, ServiceSpec, TaskRecord } from './types'

export type AnyRecord = ServiceSpec | TaskRecord | HealthRecord | NodeRecord

type Check = (o: Record<string, unknown>) => string | null

const isStr = (v: unknown): v is string => typeof v === 'string'
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
const isPort = (v: unknown): boolean => isInt(v) && v >= 1 && v <= 65535

function need (o: Record<string, unknown>, fields: Record<string, (v: unknown) => boolean>): string | null {
  for (const [name, ok] of Object.entries(fields)) {
    if (!ok(o[name])) return `field "${name}" is missing or has the wrong type`
  }
  return null
}

const checkService: Check = (o) => {
  const missing = need(o, {
    id: isStr, name: isStr, replicas: isInt, ports: Array.isArray, hosts: Array.isArray, version: isInt
  })
  if (missing !== null) return missing
  for (const p of o.ports as unknown[]) {
    const port = p as Record<string, unknown>
    if (typeof p !== 'object' || p === null || !isPort(port.published) || !isPort(port.target) ||
      (port.protocol !== 'http' && port.protocol !== 'tcp')) return `port ${JSON.stringify(p)} is malformed`
  }
  if (!(o.hosts as unknown[]).every(isStr)) return 'hosts must be strings'
  if (o.health != null) {
    const h = o.health as Record<string, unknown>
    if ((h.type !== 'http' && h.type !== 'tcp') || !isInt(h.interval) || !isInt(h.timeout) || !isInt(h.rise) || !isInt(h.fall)) {
      return 'health check is malformed'
    }
  }
  return null
}

const checkTask: Check = (o) => {
  const missing = need(o, { id: isStr, service: isStr, serviceId: isStr, slot: isInt, node: isStr, host: isStr, port: isInt, desired: isStr, state: isStr })
  if (missing !== null) return missing
  if (o.port !== 0 && !isPort(o.port)) return `port ${String(o.port)} is out of range`
  return null
}

const checkHealth: Check = (o) =>
  o.status === 'healthy' || o.status === 'unhealthy' ? null : 'status must be healthy or unhealthy'

const checkNode: Check = (o) => need(o, { id: isStr, name: isStr, addr: isStr })

const CHECKS: Record<RecordType, Check> = { service: checkService, task: checkTask, health: checkHealth, node: checkNode }

export type Decoded<T> = { ok: true, value: T } | { ok: false, reason: string }

export function decodeRecord (type: RecordType, json: string): Decoded<AnyRecord> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return { ok: false, reason: 'not valid JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' }
  const reason = CHECKS[type](parsed as Record<string, unknown>)
  return reason === null ? { ok: true, value: parsed as AnyRecord } : { ok: false, reason }
}
