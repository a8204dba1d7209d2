/**
 * Shared flag handling for `mesh` commands. One spec per command declares
 * every flag once (type, short letter, description, default); the parser,
 * `--help` (help.ts) and shell completion (completion.ts) all read it.
 *
 * Parsing is node:util parseArgs (strict) with docker's (pflag's) forms on
 * top: a boolean flag takes `--flag`, `--flag=true` or `--flag=false`
 * (also 1/0, t/f), the last one given wins; a string flag `--flag value` or
 * `--flag=value`, a negative number included (`--replicas -1`, so its own
 * check can name it). Every command also takes `--redis URL` and `-h,
 * --help`; a listing (a command with `--quiet`) also takes `--format` (see
 * output.ts), which this parser validates and hands to the table printer.
 * Any mistake is one MESH_ERR_USAGE line (exit 2, exit-codes.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { MeshError } from '../errors'
import { localConfig } from '../cluster/cluster-file'
import type { Config } from '../config/schema'
import { describeCommand } from './help'
import { configureOutput, FORMAT_FLAG } from './output'

export interface Flag {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
  /** One line for --help (docker's wording where docker has the flag). */
  description?: string
  /** The default as --help shows it; omitted when there is none worth saying. */
  default?: string
  /** Placeholder for a string flag's value in --help: N, DURATION, HOST:PORT. */
  value?: string
  /** Values completion offers (enumerations). */
  choices?: readonly string[]
}

export type Options = Record<string, Flag>
export type Values = Record<string, string | boolean | string[] | undefined>

export interface CommandSpec {
  /** e.g. `service ls` */
  name: string
  /** Usage text printed by --help (after `Usage: mesh <name> `). */
  usage: string
  /** A paragraph under the usage line; the command table's summary when absent. */
  description?: string
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

export const GLOBAL_FLAGS: Options = {
  redis: { type: 'string', value: 'URL', description: 'Registry to use', default: 'MESH_REDIS_URL, .mesh/cluster.json or redis://127.0.0.1:6379' },
  help: { type: 'boolean', short: 'h', description: 'Print usage' }
}

/** The flags a command accepts: its own, the output flag of a listing, the global ones. */
export function flagsOf (spec: CommandSpec): Options {
  return { ...(LISTINGS.has(spec.name) ? FORMAT_FLAG : {}), ...spec.options, ...GLOBAL_FLAGS }
}

/** The commands that print rows (a table, or --format) and so take --format, as docker's ls/ps do. */
export const LISTINGS: ReadonlySet<string> = new Set(['service ls', 'service ps', 'node ls', 'node ps'])

/** A listing, or a command that declares its own --format (inspect). */
export function isListing (spec: CommandSpec): boolean {
  return LISTINGS.has(spec.name) || spec.options.format !== undefined
}

export function usageError (spec: CommandSpec, message: string): MeshError {
  return new MeshError('MESH_ERR_USAGE', `${message} (see mesh ${spec.name} --help)`)
}

const TRUE = new Set(['true', 'TRUE', 'True', 't', 'T', '1'])
const FALSE = new Set(['false', 'FALSE', 'False', 'f', 'F', '0'])

interface Normalised { args: string[], booleans: Map<string, boolean> }

/**
 * Rewrites docker's forms into what strict parseArgs takes: `--flag=true`
 * becomes `--flag`, `--flag=false` is dropped (remembered in `booleans`,
 * where the last occurrence of each boolean flag wins), and a negative
 * number after a string flag is glued to it.
 */
function normalise (head: string[], options: Options, spec: CommandSpec): Normalised {
  const booleans = new Map<string, boolean>()
  const shortOf = new Map<string, string>()
  for (const [name, o] of Object.entries(options)) if (o.short !== undefined) shortOf.set(o.short, name)
  const args: string[] = []
  for (let i = 0; i < head.length; i++) {
    const tok = head[i]
    const next = head[i + 1]
    if (tok.startsWith('--') && tok.length > 2) {
      const eq = tok.indexOf('=')
      const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq)
      const o = options[name]
      if (o?.type === 'boolean') {
        if (eq < 0) {
          booleans.set(name, true)
          args.push(tok)
          continue
        }
        const text = tok.slice(eq + 1)
        const value = TRUE.has(text) ? true : FALSE.has(text) ? false : null
        if (value === null) throw usageError(spec, `flag --${name}: "${text}" is not true or false`)
        booleans.set(name, value)
        if (value) args.push(`--${name}`)
        continue
      }
      if (o?.type === 'string' && eq < 0 && next !== undefined && /^-\d/.test(next)) {
        args.push(`${tok}=${next}`)
        i++
        continue
      }
      args.push(tok)
      continue
    }
    if (/^-[^-\d]/.test(tok)) {
      // A cluster of short flags (-dq): each boolean among them is set, in order.
      for (const ch of tok.slice(1)) {
        const name = shortOf.get(ch)
        if (name === undefined) break
        if (options[name].type === 'boolean') booleans.set(name, true)
        else break // the rest of the token is this flag's value (-n5)
      }
      const o = shortOf.get(tok[1])
      if (tok.length === 2 && o !== undefined && options[o].type === 'string' && next !== undefined && /^-\d/.test(next)) {
        args.push(`--${o}=${next}`)
        i++
        continue
      }
    }
    args.push(tok)
  }
  return { args, booleans }
}

function parseOptions (options: Options): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {}
  for (const [name, o] of Object.entries(options)) {
    out[name] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}), ...(o.multiple === true ? { multiple: true } : {}) }
  }
  return out
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
  const options = flagsOf(spec)
  const { args, booleans } = normalise(head, options, spec)
  let parsed: { values: Values, positionals: string[] }
  try {
    parsed = parseArgs({ args, options: parseOptions(options), allowPositionals: true, strict: true }) as typeof parsed
  } catch (err) {
    const msg = (err as Error).message
    const unknown = /^Unknown option '([^']+)'/.exec(msg)
    if (unknown !== null) throw usageError(spec, `unknown flag ${unknown[1]}`)
    const missing = /^Option '([^']+)' argument missing/.exec(msg)
    if (missing !== null) throw usageError(spec, `flag ${missing[1].replace(/^-\w, /, '').replace(/ <value>$/, '')} needs a value`)
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(msg)
    if (ambiguous !== null) throw usageError(spec, `flag ${ambiguous[1].replace(/^-\w, /, '').replace(/ <value>$/, '')} needs a value`)
    throw usageError(spec, msg.split('.')[0])
  }
  for (const [name, value] of booleans) parsed.values[name] = value
  if (parsed.values.help === true) {
    process.stdout.write(describeCommand(spec, options))
    return null
  }
  const n = parsed.positionals.length
  if (n < spec.positionals.min) throw usageError(spec, `missing ${spec.positionals.what}`)
  if (n > spec.positionals.max) throw usageError(spec, `unexpected argument "${parsed.positionals[spec.positionals.max]}"`)
  if (isListing(spec)) configureOutput(str(parsed.values, 'format'), (m) => usageError(spec, m))
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
