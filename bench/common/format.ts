/** Plain-text tables and number formatting for bench output. */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './mesh'

export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits)

export const ms = (us: number | null | undefined): string => fmt(us === null || us === undefined ? null : us / 1000, 2)
export const mb = (bytes: number | null | undefined): string => fmt(bytes === null || bytes === undefined ? null : bytes / 1048576, 1)

/** Writes bench/results/<kind>-<timestamp>.json (in the source tree, not dist/) and returns its path. */
export function saveResults (kind: string, data: unknown): string {
  const dir = path.join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = path.join(dir, `${stamp}-${kind}.json`)
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
  return file
}

export interface Verdict { target: string, value: string, limit: string, status: 'PASS' | 'FAIL' | 'SKIP', kind: 'target' | 'aim' | 'info', note?: string }

export function verdictTable (verdicts: Verdict[]): string {
  return table(['target', 'measured', 'limit', 'result'], verdicts.map((v) => [
    v.kind === 'aim' ? `(aim) ${v.target}` : v.target,
    v.value,
    v.limit,
    v.status + (v.note !== undefined ? ` (${v.note})` : '')
  ]))
}
