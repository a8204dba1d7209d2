/** Flag value parsers shared by service and node commands; errors name the flag and value. */
import { MeshError, type ErrorCode } from '../errors'
import { parseDuration } from '../util/duration'

/** A whole number in [min, max]; `code` lets --replicas use MESH_ERR_INVALID_REPLICAS. */
export function intValue (text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER,
  code: ErrorCode = 'MESH_ERR_USAGE'): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw new MeshError(code, `${flag}: "${text}" is not a whole number ${range}`)
  }
  return n
}

export function replicasValue (text: string, flag = '--replicas'): number {
  return intValue(text, flag, 0, 100_000, 'MESH_ERR_INVALID_REPLICAS')
}

export function durationValue (text: string, flag: string): number {
  return parseDuration(text, flag)
}

export function enumValue<T extends string> (text: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new MeshError('MESH_ERR_USAGE', `${flag}: "${text}" is not one of ${allowed.join(', ')}`)
  }
  return text as T
}
