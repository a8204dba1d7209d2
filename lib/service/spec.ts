/**
 * Builds and validates ServiceSpecs from command-line flags. Everything is
 * checked here, before the CLI writes anything; conflicts with other services
 * (ports) and the certificate a --cert names are checked against a snapshot
 * by the caller (ports.ts, route-options.ts).
 */
import { MeshError } from '../errors'
import type { Config } from '../config/schema'
import {
  SCHEMA_VERSION, type FailureAction, type HealthCheckSpec, type RestartCondition, type ServiceSpec,
  type UpdateConfig, type UpdateOrder
} from '../registry/types'
import { parseHostName, type HostPort } from '../util/address'
import { newId } from '../util/ids'
import { parseEndpoints } from './endpoints'
import { checkOwnPorts, parsePublish } from './ports'
import { applyOptions, checkOptionsFit, DEFAULT_OPTIONS, optionFlags } from './route-options'
import { durationValue, enumValue, intValue, replicasValue } from './values'

export type FlagValues = Record<string, string | boolean | string[] | undefined>

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
export const ORDERS: readonly UpdateOrder[] = ['stop-first', 'start-first']
export const FAILURE_ACTIONS: readonly FailureAction[] = ['pause', 'continue', 'rollback']
export const RESTART_CONDITIONS: readonly RestartCondition[] = ['any', 'on-failure', 'none']

const s = (v: FlagValues, k: string): string | undefined => (typeof v[k] === 'string' ? v[k] as string : undefined)
const l = (v: FlagValues, k: string): string[] => (Array.isArray(v[k]) ? v[k] as string[] : typeof v[k] === 'string' ? [v[k] as string] : [])

export function serviceName (text: string, what = '--name'): string {
  if (!NAME.test(text)) {
    throw new MeshError('MESH_ERR_INVALID_NAME', `${what}: "${text}" is not a valid name (letters, digits, _ . -, starting with a letter or digit, at most 63)`)
  }
  return text
}

export function parseEnvPair (text: string, what: string): [string, string] {
  const eq = text.indexOf('=')
  const key = eq < 0 ? text : text.slice(0, eq)
  if (eq < 0 || !ENV_KEY.test(key)) throw new MeshError('MESH_ERR_USAGE', `${what}: "${text}" is not KEY=VALUE (KEY like MY_VAR)`)
  return [key, text.slice(eq + 1)]
}

export function envKey (text: string, what: string): string {
  if (!ENV_KEY.test(text)) throw new MeshError('MESH_ERR_USAGE', `${what}: "${text}" is not an environment variable name`)
  return text
}

export function parseEnv (texts: string[], what = '--env'): Record<string, string> {
  const env: Record<string, string> = {}
  for (const t of texts) {
    const [k, v] = parseEnvPair(t, what)
    env[k] = v
  }
  return env
}

export function parseHosts (texts: string[], what = '--host'): string[] {
  const out: string[] = []
  for (const t of texts) {
    const h = parseHostName(t, what)
    if (out.includes(h)) throw new MeshError('MESH_ERR_INVALID_HOST', `${what}: ${h} is given twice`)
    out.push(h)
  }
  return out
}

const HEALTH_TUNING = ['health-interval', 'health-timeout', 'health-rise', 'health-fall']

/**
 * `--health-path /x` (HTTP GET) or `--health-tcp` (connect), tuned by
 * --health-interval/-timeout/-rise/-fall; `base` supplies values not given.
 * Returns undefined when no health flag was given at all.
 */
export function healthFromFlags (v: FlagValues, base: Omit<HealthCheckSpec, 'type' | 'path'>, current: HealthCheckSpec | null = null): HealthCheckSpec | null | undefined {
  const path = s(v, 'health-path')
  const tcp = v['health-tcp'] === true
  const none = v['no-health'] === true
  const tuning = HEALTH_TUNING.some((k) => s(v, k) !== undefined)
  if ([path !== undefined, tcp, none].filter(Boolean).length > 1) {
    throw new MeshError('MESH_ERR_USAGE', 'give only one of --health-path, --health-tcp and --no-health')
  }
  if (none) {
    if (tuning) throw new MeshError('MESH_ERR_USAGE', '--no-health cannot be combined with --health-interval/-timeout/-rise/-fall')
    return null
  }
  if (path === undefined && !tcp && !tuning) return undefined
  const from = path !== undefined || tcp ? null : current
  if (path === undefined && !tcp && from === null) {
    throw new MeshError('MESH_ERR_USAGE', '--health-interval/-timeout/-rise/-fall need a check: add --health-path /PATH or --health-tcp')
  }
  if (path !== undefined && !/^\/[\x21-\x7e]*$/.test(path)) {
    throw new MeshError('MESH_ERR_USAGE', `--health-path: "${path}" is not a path starting with / (e.g. /healthz)`)
  }
  const start = from ?? base
  const iv = s(v, 'health-interval')
  const to = s(v, 'health-timeout')
  const rise = s(v, 'health-rise')
  const fall = s(v, 'health-fall')
  const spec: HealthCheckSpec = {
    type: from !== null ? from.type : tcp ? 'tcp' : 'http',
    path: from !== null ? from.path : tcp ? '' : path as string,
    interval: iv !== undefined ? durationValue(iv, '--health-interval') : start.interval,
    timeout: to !== undefined ? durationValue(to, '--health-timeout') : start.timeout,
    rise: rise !== undefined ? intValue(rise, '--health-rise', 1, 100) : start.rise,
    fall: fall !== undefined ? intValue(fall, '--health-fall', 1, 100) : start.fall
  }
  if (spec.interval < 1) throw new MeshError('MESH_ERR_INVALID_DURATION', '--health-interval must be above 0')
  if (spec.timeout < 1) throw new MeshError('MESH_ERR_INVALID_DURATION', '--health-timeout must be above 0')
  return spec
}

/** --update-parallelism/-delay/-order/-failure-action/-monitor over `base`. */
export function updateFromFlags (v: FlagValues, base: UpdateConfig): UpdateConfig {
  const p = s(v, 'update-parallelism')
  const d = s(v, 'update-delay')
  const o = s(v, 'update-order')
  const f = s(v, 'update-failure-action')
  const m = s(v, 'update-monitor')
  return {
    parallelism: p !== undefined ? intValue(p, '--update-parallelism', 0, 100_000) : base.parallelism,
    delay: d !== undefined ? durationValue(d, '--update-delay') : base.delay,
    order: o !== undefined ? enumValue(o, '--update-order', ORDERS) : base.order,
    failureAction: f !== undefined ? enumValue(f, '--update-failure-action', FAILURE_ACTIONS) : base.failureAction,
    monitor: m !== undefined ? durationValue(m, '--update-monitor') : base.monitor
  }
}

export function restartFromFlags (v: FlagValues, base: ServiceSpec['restart']): ServiceSpec['restart'] {
  const c = s(v, 'restart-condition')
  const d = s(v, 'restart-delay')
  const m = s(v, 'restart-max-attempts')
  return {
    condition: c !== undefined ? enumValue(c, '--restart-condition', RESTART_CONDITIONS) : base.condition,
    delay: d !== undefined ? durationValue(d, '--restart-delay') : base.delay,
    maxAttempts: m !== undefined ? intValue(m, '--restart-max-attempts', 0) : base.maxAttempts
  }
}

export function defaultUpdateConfig (): UpdateConfig {
  return { parallelism: 1, delay: 0, order: 'stop-first', failureAction: 'pause', monitor: 5000 }
}

export interface NewService {
  spec: ServiceSpec
  endpoints: HostPort[]
}

/** `mesh service create` flags (+ the command after `--`, null when none) -> a new spec. */
export function specFromCreateFlags (v: FlagValues, command: string[] | null, config: Config, now = Date.now()): NewService {
  const nameText = s(v, 'name')
  if (nameText === undefined) throw new MeshError('MESH_ERR_USAGE', 'missing --name NAME')
  const name = serviceName(nameText)
  const mode = enumValue(s(v, 'mode') ?? 'replicated', '--mode', ['replicated', 'global'] as const)
  const ports = l(v, 'publish').map((p) => parsePublish(p))
  checkOwnPorts(ports)
  const hosts = parseHosts(l(v, 'host'))
  const options = applyOptions(DEFAULT_OPTIONS, optionFlags(v))
  checkOptionsFit(name, ports, hosts, options)
  const endpoints = parseEndpoints(l(v, 'endpoint'))
  const cmd = command ?? []
  if (command !== null && command.length === 0) throw new MeshError('MESH_ERR_COMMAND_MISSING', 'nothing after --: give the command to run, e.g. -- mesh whoami')
  const replicasText = s(v, 'replicas')
  let replicas: number
  if (mode === 'global') {
    if (replicasText !== undefined) throw new MeshError('MESH_ERR_USAGE', '--replicas cannot be used with --mode global (one task per active node)')
    if (cmd.length === 0) throw new MeshError('MESH_ERR_COMMAND_MISSING', `service ${name}: --mode global needs a command after -- (e.g. -- mesh whoami)`)
    replicas = 0
  } else {
    replicas = replicasText !== undefined ? replicasValue(replicasText) : cmd.length > 0 ? 1 : 0
    if (cmd.length === 0 && (replicas > 0 || endpoints.length === 0)) {
      throw new MeshError('MESH_ERR_COMMAND_MISSING',
        `service ${name} has ${replicas > 0 ? `--replicas ${replicas} but ` : ''}no command: give the command after -- (e.g. -- mesh whoami)${replicas > 0 ? '' : ' or --endpoint HOST:PORT'}`)
    }
  }
  const h = config.health
  const health = healthFromFlags(v, { interval: h.interval, timeout: h.timeout, rise: Number(h.rise), fall: Number(h.fall) }) ?? null
  const update = updateFromFlags(v, defaultUpdateConfig())
  const rollback: UpdateConfig = { ...update, failureAction: 'pause' }
  const restart = restartFromFlags(v, { condition: 'any', delay: config.tasks.restartDelay, maxAttempts: 0 })
  const grace = s(v, 'stop-grace-period')
  const spec: ServiceSpec = {
    v: SCHEMA_VERSION,
    id: newId(),
    name,
    mode,
    replicas,
    ports,
    hosts,
    options,
    health,
    command: cmd,
    env: parseEnv(l(v, 'env')),
    update,
    rollback,
    restart,
    stopGrace: grace !== undefined ? durationValue(grace, '--stop-grace-period') : config.tasks.stopGrace,
    version: 1,
    updateState: '',
    updateMessage: '',
    createdAt: now,
    updatedAt: now,
    previous: null
  }
  return { spec, endpoints }
}

/** The spec as `previous`: without its own previous. */
export function asPrevious (spec: ServiceSpec): Omit<ServiceSpec, 'previous'> {
  const { previous: _drop, ...rest } = spec
  return rest
}
