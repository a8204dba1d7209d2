/**
 * The small JSON files that hold a credential (a node's state, `mesh up`'s
 * cluster file): read when present, written atomically with mode 0600.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

/** `decode(file, text)` of the file, or null when there is none. */
export function readPrivateJson<T> (file: string, decode: (file: string, text: string) => T): T | null {
  if (!existsSync(file)) return null
  return decode(file, readFileSync(file, 'utf8'))
}

/** Writes `value` as JSON, mode 0600, atomically (a temporary file renamed over it). */
export function writePrivateJson (file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 })
  chmodSync(tmp, 0o600) // a leftover tmp file of the same name keeps its old mode under writeFileSync
  renameSync(tmp, file)
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
