/**
 * Shared flag handling for `mesh` commands: node:util parseArgs (strict) with
 * the global flags (`--redis URL`, `--help`) added to every command, errors
 * turned into one-line MESH_ERR_USAGE messages, and typed value helpers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { MeshError } from '../errors'
import { localConfig } from '../cluster/cluster-file'
import type { Config } from '../config/schema'

export type Options = NonNullable<ParseArgsConfig['options']>
export type Values = Record<string, string | boolean | string[] | undefined>

export interface CommandSpec {
  /** e.g. `service ls` */
  name: string
  /** Usage text printed by --help (after `Usage: mesh <name> `). */
  usage: string
  options: Options
  /** Positional arguments allowed (before any `--`). */
  positionals: { min: number, max: number, what: string }
  /** Everything after the first `--` is handed back as `rest` (the task command). */
  rest?: boolean
}

export interface Parsed {
  values: Values
  positionals: string[]
  /** Arguments after `--` (only when the spec sets `rest`); null when there was no `--`. */
  rest: string[] | null
}

const GLOBAL: Options = {
  redis: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
}

export function usageError (spec: CommandSpec, message: string): MeshError {
  return new MeshError('MESH_ERR_USAGE', `${message} (see mesh ${spec.name} --help)`)
}

function describe (spec: CommandSpec): string {
  const lines = [`Usage: mesh ${spec.name} ${spec.usage}`, '', 'Flags:']
  const names = Object.keys(spec.options).sort()
  for (const name of names) {
    const o = spec.options[name]
    lines.push(`  --${name}${o.type === 'string' ? ' VALUE' : ''}${o.multiple === true ? ' (repeatable)' : ''}`)
  }
  lines.push('  --redis URL (default: MESH_REDIS_URL or redis://127.0.0.1:6379)', '  -h, --help')
  return lines.join('\n') + '\n'
}

/** Parses argv for one command; returns null after printing --help. */
export function parseFlags (argv: string[], spec: CommandSpec): Parsed | null {
  let head = argv
  let rest: string[] | null = null
  if (spec.rest === true) {
    const i = argv.indexOf('--')
    if (i >= 0) {
      head = argv.slice(0, i)
      rest = argv.slice(i + 1)
    }
  }
  // `--replicas -1`: hand a negative number to the flag (parseArgs would call it ambiguous) so its check names it.
  const options = { ...spec.options, ...GLOBAL }
  head = head.flatMap((tok, i) => {
    const prev = head[i - 1]
    if (/^-\d/.test(tok) && prev?.startsWith('--') === true && !prev.includes('=') && options[prev.slice(2)]?.type === 'string') return []
    const next = head[i + 1]
    if (tok.startsWith('--') && !tok.includes('=') && options[tok.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) return [`${tok}=${next}`]
    return [tok]
  })
  let parsed: { values: Values, positionals: string[] }
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true }) as typeof parsed
  } catch (err) {
    const msg = (err as Error).message
    const unknown = /^Unknown option '([^']+)'/.exec(msg)
    if (unknown !== null) throw usageError(spec, `unknown flag ${unknown[1]}`)
    const missing = /^Option '([^']+)' argument missing/.exec(msg)
    if (missing !== null) throw usageError(spec, `flag ${missing[1].replace(/^-\w, /, '').replace(/ <value>$/, '')} needs a value`)
    throw usageError(spec, msg.split('.')[0])
  }
  if (parsed.values.help === true) {
    process.stdout.write(describe(spec))
    return null
  }
  const n = parsed.positionals.length
  if (n < spec.positionals.min) throw usageError(spec, `missing ${spec.positionals.what}`)
  if (n > spec.positionals.max) throw usageError(spec, `unexpected argument "${parsed.positionals[spec.positionals.max]}"`)
  return { values: parsed.values, positionals: parsed.positionals, rest }
}

/**
 * The configuration for a CLI command: defaults < the cluster `mesh up`
 * started in this directory (.mesh/cluster.json) < env < `--redis`.
 */
export function cliConfig (values: Values): Config {
  const redis = values.redis
  return localConfig(process.cwd(), { overrides: typeof redis === 'string' ? { 'redis.url': redis } : {} })
}

export function str (values: Values, name: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' ? v : undefined
}

export function list (values: Values, name: string): string[] {
  const v = values[name]
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
}

export function bool (values: Values, name: string): boolean {
  return values[name] === true
}

export { intValue, replicasValue, durationValue, enumValue } from '../service/values'

/** `--set section.key=value` flags -> config overrides by dotted key. */
export function parseSetFlags (values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const kv of values ?? []) {
    const eq = kv.indexOf('=')
    if (eq <= 0) throw new MeshError('MESH_ERR_USAGE', `--set "${kv}": use --set section.key=value (e.g. --set proxy.connectTimeout=500ms)`)
    out[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return out
}
