/**
 * Loads the one configuration: config/default.yaml < --config FILE < MESH_* env
 * < flags. Validated once, frozen, handed down. No other module reads
 * process.env.
 */
import { readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { parse as parseYaml } from 'yaml'
import { MeshError } from '../errors'
import { parseDuration } from '../util/duration'
import { formatHostPort, parseHostPort, parsePort } from '../util/address'
import { redactUrl } from '../util/redact'
import { SCHEMA, type Config, type Kind } from './schema'
import { parseCidrList } from './cidrs'
import { parseRedisUrl } from './redis-url'

/** The most replicas a write may wait for (redis.waitReplicas). */
const MAX_WAIT_REPLICAS = 16

export const DEFAULT_CONFIG_FILE = join(__dirname, '..', '..', '..', 'config', 'default.yaml')

type Raw = Record<string, Record<string, unknown>>

export interface LoadOptions {
  /** --config FILE */
  file?: string
  /** Values from flags and `--set a.b=v`, by dotted key. */
  overrides?: Record<string, unknown>
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv
  /**
   * The configuration of the local cluster `mesh up` started here
   * (.mesh/cluster.json): values by dotted key, a layer just above the
   * defaults. `file` names it in errors.
   */
  cluster?: { file: string, values: Record<string, unknown> }
}

function readYaml (file: string, what: string): Raw {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new MeshError('MESH_ERR_CONFIG', `${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  let doc: unknown
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new MeshError('MESH_ERR_CONFIG', `${what} ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${redactUrl((err as Error).message.split('\n')[0])}`)
  }
  if (doc == null) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new MeshError('MESH_ERR_CONFIG', `${what} ${file}: must hold a mapping of sections`)
  return doc as Raw
}

/** `proxy.connectTimeout` -> `MESH_PROXY_CONNECT_TIMEOUT` */
export function envName (section: string, key: string): string {
  const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
  return `MESH_${snake(section)}_${snake(key)}`
}

function merge (into: Raw, from: Raw, what: string): void {
  for (const [section, values] of Object.entries(from)) {
    const known = (SCHEMA as Record<string, Record<string, Kind>>)[section]
    if (known === undefined) throw new MeshError('MESH_ERR_CONFIG', `${what}: unknown section "${section}" (known: ${Object.keys(SCHEMA).join(', ')})`)
    if (values == null) continue
    if (typeof values !== 'object' || Array.isArray(values)) throw new MeshError('MESH_ERR_CONFIG', `${what}: "${section}" must be a mapping`)
    for (const [key, value] of Object.entries(values)) {
      if (known[key] === undefined) throw new MeshError('MESH_ERR_CONFIG', `${what}: unknown key "${section}.${key}"`)
      into[section][key] = value
    }
  }
}

/** `{ 'proxy.connectTimeout': v }` -> `{ proxy: { connectTimeout: v } }` */
function dotted (values: Record<string, unknown>, what: string): Raw {
  const out: Raw = {}
  for (const [name, value] of Object.entries(values)) {
    const [section, key, extra] = name.split('.')
    if (extra !== undefined || key === undefined) throw new MeshError('MESH_ERR_CONFIG', `${what}: "${name}" is not a key like section.key (e.g. proxy.connectTimeout)`)
    ;(out[section] ??= {})[key] = value
  }
  return out
}

function bad (key: string, value: unknown, want: string): MeshError {
  // The value is shown as given, without any password it holds (redis.url).
  return new MeshError('MESH_ERR_CONFIG', `config key ${key}: ${redactUrl(JSON.stringify(value) ?? String(value))} is not ${want}`)
}

function coerce (key: string, kind: Kind, value: unknown): unknown {
  switch (kind.kind) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number') throw bad(key, value, 'a string')
      return String(value)
    case 'url': {
      const text = String(value)
      parseRedisUrl(text, key)
      return text
    }
    case 'file': {
      if (value === '' || value === null) return ''
      if (typeof value !== 'string') throw bad(key, value, 'a file path')
      const path = resolve(value)
      let problem = ''
      try {
        if (!statSync(path).isFile()) problem = 'is not a file'
        else readFileSync(path)
      } catch (err) {
        problem = `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`
      }
      if (problem !== '') throw new MeshError('MESH_ERR_CONFIG', `config key ${key}: ${JSON.stringify(value)} ${problem}`)
      return path
    }
    case 'replicas': {
      if (value === 'auto') return -1
      const n = typeof value === 'number' ? value : /^\d+$/.test(String(value).trim()) ? Number(value) : NaN
      if (!Number.isInteger(n) || n < 0 || n > MAX_WAIT_REPLICAS) throw bad(key, value, `auto or an integer from 0 to ${MAX_WAIT_REPLICAS}`)
      return n
    }
    case 'hostport': {
      const text = String(value ?? '')
      if (text === '' && kind.optional) return ''
      // A bare port (node.admin): on the advertise address, resolved below; never every interface unless named.
      if (/^:?\d+$/.test(text)) { try { parsePort(text.replace(':', ''), key) } catch { throw bad(key, value, 'HOST:PORT or PORT') } return text }
      try { parseHostPort(text, key) } catch { throw bad(key, value, 'HOST:PORT') }
      return text
    }
    case 'host': {
      const text = String(value ?? '')
      if (isIP(text) === 0 && !/^[a-zA-Z0-9.-]+$/.test(text)) throw bad(key, value, 'an IP address or host name')
      return text
    }
    case 'duration': {
      let ms: number
      try { ms = parseDuration(value as string, key) } catch { throw bad(key, value, 'a duration (e.g. 500ms, 10s, 5m)') }
      if (kind.min !== undefined && ms < kind.min) throw bad(key, value, 'a duration above 0')
      return ms
    }
    case 'int': {
      const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(value) : NaN
      if (!Number.isInteger(n) || n < kind.min || n > kind.max) throw bad(key, value, `an integer from ${kind.min} to ${kind.max}`)
      return n
    }
    case 'bool':
      if (value === true || value === 'true' || value === '1' || value === 1) return true
      if (value === false || value === 'false' || value === '0' || value === 0) return false
      throw bad(key, value, 'true or false')
    case 'cidrs': return parseCidrList(key, value)
    case 'enum':
      if (typeof value === 'string' && kind.values.includes(value)) return value
      throw bad(key, value, kind.values.join(' or '))
    case 'portrange': {
      const m = /^(\d+)-(\d+)$/.exec(String(value).trim())
      const from = m === null ? NaN : Number(m[1])
      const to = m === null ? NaN : Number(m[2])
      if (!(from >= 1 && to <= 65535 && from <= to)) throw bad(key, value, 'a port range like 20000-29999')
      return { from, to }
    }
  }
}

export function loadConfig (options: LoadOptions = {}): Config {
  const env = options.env ?? process.env
  const raw: Raw = {}
  for (const section of Object.keys(SCHEMA)) raw[section] = {}
  merge(raw, readYaml(DEFAULT_CONFIG_FILE, 'defaults'), 'config/default.yaml')
  if (options.cluster !== undefined) merge(raw, dotted(options.cluster.values, options.cluster.file), options.cluster.file)
  const file = options.file ?? env.MESH_CONFIG
  if (file !== undefined && file !== '') merge(raw, readYaml(file, 'config file'), file)
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      const v = env[envName(section, key)]
      if (v !== undefined && v !== '') raw[section][key] = v
    }
  }
  for (const [name, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) merge(raw, dotted({ [name]: value }, `--set ${name}`), `--set ${name}`)
  }
  const out: Record<string, Record<string, unknown>> = {}
  for (const [section, keys] of Object.entries(SCHEMA) as Array<[string, Record<string, Kind>]>) {
    out[section] = {}
    for (const [key, kind] of Object.entries(keys)) {
      const value = raw[section][key]
      if (value === undefined) throw new MeshError('MESH_ERR_CONFIG', `config key ${section}.${key} has no value (config/default.yaml is incomplete)`)
      out[section][key] = coerce(`${section}.${key}`, kind, value)
    }
  }
  if (out.node.name === '') out.node.name = hostname()
  checkRedis(out.redis, out.node)
  if (out.node.bind === '') out.node.bind = out.node.advertise
  if (/^:?\d+$/.test(out.node.admin as string)) out.node.admin = formatHostPort(out.node.advertise as string, Number((out.node.admin as string).replace(':', '')))
  for (const section of Object.values(out)) Object.freeze(section)
  return Object.freeze(out) as unknown as Config
}

/**
 * What the redis keys promise together: TLS files only for a TLS URL, a
 * client certificate with its key (and they match), `waitReplicas: auto`
 * resolved (1 through Sentinel, 0 for one server), and a replica wait short
 * enough for the heartbeats queued behind it on the same connection.
 */
function checkRedis (redis: Record<string, unknown>, node: Record<string, unknown>): void {
  const url = redis.url as string
  const target = parseRedisUrl(url)
  const files = { tlsCa: redis.tlsCa as string, tlsCert: redis.tlsCert as string, tlsKey: redis.tlsKey as string }
  const fail = (message: string): MeshError => new MeshError('MESH_ERR_CONFIG', message)
  for (const [name, file] of Object.entries(files)) {
    if (file !== '' && !target.tls) {
      throw fail(`config key redis.${name} is set (${file}), but redis.url ${redactUrl(url)} does not use TLS: write rediss:// (or rediss+sentinel://), or unset redis.${name}`)
    }
  }
  if ((files.tlsCert === '') !== (files.tlsKey === '')) {
    const [set, missing] = files.tlsCert === '' ? ['tlsKey', 'tlsCert'] : ['tlsCert', 'tlsKey']
    throw fail(`config key redis.${set} is set but redis.${missing} is not: a client certificate needs both the certificate and its key`)
  }
  const certificate = (key: string, file: string): X509Certificate => {
    try { return new X509Certificate(readFileSync(file)) } catch (err) {
      throw fail(`config key redis.${key}: ${file} holds no PEM certificate (${(err as Error).message})`)
    }
  }
  if (files.tlsCa !== '') certificate('tlsCa', files.tlsCa)
  if (files.tlsCert !== '') {
    const cert = certificate('tlsCert', files.tlsCert)
    let matches: boolean
    try { matches = cert.checkPrivateKey(createPrivateKey(readFileSync(files.tlsKey))) } catch (err) {
      throw fail(`config key redis.tlsKey: ${files.tlsKey} holds no PEM private key (${(err as Error).message})`)
    }
    if (!matches) throw fail(`config keys redis.tlsCert and redis.tlsKey: ${files.tlsKey} is not the private key of the certificate in ${files.tlsCert}`)
  }
  if (redis.waitReplicas === -1) redis.waitReplicas = target.kind === 'sentinel' ? 1 : 0
  const wait = redis.waitTimeout as number
  const ttl = node.heartbeatTtl as number
  if ((redis.waitReplicas as number) > 0 && wait * 2 > ttl) {
    throw fail(`config key redis.waitTimeout: ${wait} ms is more than half of node.heartbeatTtl (${ttl} ms): a write waiting for replicas holds the node's registry connection, ` +
      'and its heartbeats wait behind it; lower redis.waitTimeout or raise node.heartbeatTtl (or set redis.waitReplicas 0)')
  }
}

/**
 * What a task inherits from the daemon's environment: PATH, HOME, LANG and
 * TZ, nothing else (no credentials, no MESH_* configuration). The agent adds
 * the task variables and the service's env.
 */
export const TASK_INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const

export function inheritedTaskEnv (env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of TASK_INHERITED_ENV) {
    const v = env[name]
    if (v !== undefined) out[name] = v
  }
  return out
}

/**
 * The environment for a node daemon that takes these keys from a cluster
 * file: this process's environment without the MESH_* variables that would
 * override them (`mesh up --set` beats the shell's MESH_*, as a flag does).
 */
export function envWithout (keys: string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env }
  for (const k of keys) {
    const [section, key] = k.split('.')
    if (key !== undefined) delete out[envName(section, key)]
  }
  return out
}
