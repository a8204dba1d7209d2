import { MeshError } from '../errors'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/

/** Parses `500ms`, `10s`, `1.5m`, `1h`, or `0` into milliseconds. */
export function parseDuration (value: string | number, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value)
  const text = String(value).trim()
  if (text === '0') return 0
  const m = DURATION.exec(text)
  if (m === null) {
    throw new MeshError('MESH_ERR_INVALID_DURATION', `${what}: "${String(value)}" is not a duration (use e.g. 500ms, 10s, 5m, 1h)`)
  }
  return Math.round(Number(m[1]) * UNITS[m[2]])
}

/** Formats milliseconds the way the CLI prints them back (`10s`, `1m30s`, `250ms`). */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms % 1000 !== 0) return `${(ms / 1000).toFixed(1)}s`
  let s = ms / 1000
  const h = Math.floor(s / 3600); s -= h * 3600
  const m = Math.floor(s / 60); s -= m * 60
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 || (h === 0 && m === 0) ? `${s}s` : ''}`
}
