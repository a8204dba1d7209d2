/**
 * `mesh service update NAME [--replicas N] [--env-add K=V] [--env-rm K] [--publish-add P] [--publish-rm P]
 * [--endpoint-add H:P] [--endpoint-rm H:P] [--host-add h] [--host-rm h] [update flags] [--command] [-- COMMAND...]`
 *
 * Changing command, env or ports bumps spec.version (a rolling update by the
 * scheduler), keeps the old spec as `previous` and sets updateState
 * `updating`. Replicas, hosts, health, update settings and the route options
 * (--cert, --redirect-https, --backend, --proxy-protocol) do not: the nodes
 * route by them, no task restarts.
 */
import { MeshError } from '../../errors'
import type { Snapshot, WriteOp } from '../../registry/store'
import type { PublishedPort, ServiceSpec } from '../../registry/types'
import { endpointKey, parseEndpoints, staticTask } from '../../service/endpoints'
import { findService, tasksOf } from '../../service/lookup'
import { assignPublishedPorts, checkPortConflicts, parsePublish, parsePublishRm, sameListener, samePorts } from '../../service/ports'
import {
  applyOptions, checkCertExists, checkOptionsFit, hasOptionChanges, optionFlags, optionsOf, type OptionChanges
} from '../../service/route-options'
import {
  asPrevious, envKey, healthFromFlags, parseEnv, parseHosts, restartFromFlags, updateFromFlags
} from '../../service/spec'
import { durationValue, replicasValue } from '../../service/values'
import { writeChecked } from '../../service/write'
import { formatHostPort } from '../../util/address'
import { bool, cliConfig, list, parseFlags, str, type CommandSpec, type Values } from '../flags'
import { showProgress } from '../progress'
import { withSession } from '../registry-session'
import { SPEC_OPTIONS, WAIT_OPTIONS, waitOf } from '../service-options'

export const SPEC: CommandSpec = {
  name: 'service update',
  usage: '[OPTIONS] SERVICE [--command -- COMMAND [ARG...]]',
  description: 'Update a service. Changing its command, env or ports rolls the tasks to the new spec (--update-* flags);\n' +
    'replicas, hosts, health, update settings and route options (--cert, --redirect-https, --backend, --proxy-protocol)\n' +
    'change in place. Shows the converge progress unless --detach.',
  options: {
    replicas: { type: 'string', value: 'N', description: 'Number of tasks' },
    'env-add': { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Add or update an environment variable' },
    'env-rm': { type: 'string', multiple: true, value: 'KEY', description: 'Remove an environment variable' },
    command: { type: 'boolean', description: 'Replace the command with the one after --' },
    'publish-add': { type: 'string', multiple: true, value: '[PUB:]TARGET[/PROTO]', description: 'Add a published port (/http, /https, /tcp, /tls, /udp as --publish; a bare TARGET gets a free port from 30000-32767)' },
    'publish-rm': { type: 'string', multiple: true, value: 'PUB[/PROTO]', description: 'Remove a published port by its number (PUB/udp or PUB/tcp when the number is published on both)' },
    'endpoint-add': { type: 'string', multiple: true, value: 'HOST:PORT', description: 'Add a static endpoint' },
    'endpoint-rm': { type: 'string', multiple: true, value: 'HOST:PORT', description: 'Remove a static endpoint' },
    'host-add': { type: 'string', multiple: true, value: 'NAME', description: 'Add a Host name the service answers' },
    'host-rm': { type: 'string', multiple: true, value: 'NAME', description: 'Remove a Host name' },
    'no-health': { type: 'boolean', description: 'Remove the health check' },
    ...SPEC_OPTIONS,
    ...WAIT_OPTIONS
  },
  positionals: { min: 1, max: 1, what: 'service name' },
  rest: true
}

/** What the flags ask for, parsed once before the registry is read. */
interface Changes {
  replicas?: number
  envAdd: Record<string, string>
  envRm: string[]
  command: string[] | null
  publishAdd: PublishedPort[]
  publishRm: Array<{ text: string, match: (p: PublishedPort) => boolean }>
  endpointAdd: ReturnType<typeof parseEndpoints>
  endpointRm: ReturnType<typeof parseEndpoints>
  hostAdd: string[]
  hostRm: string[]
  stopGrace?: number
  options: OptionChanges
}

function parseChanges (values: Values, rest: string[] | null): Changes {
  if (bool(values, 'command') && (rest === null || rest.length === 0)) {
    throw new MeshError('MESH_ERR_COMMAND_MISSING', '--command needs the new command after --, e.g. --command -- mesh whoami --version-tag v2')
  }
  if (rest !== null && rest.length === 0) throw new MeshError('MESH_ERR_COMMAND_MISSING', 'nothing after --: give the new command, e.g. -- mesh whoami')
  const replicas = str(values, 'replicas')
  const grace = str(values, 'stop-grace-period')
  return {
    replicas: replicas !== undefined ? replicasValue(replicas) : undefined,
    envAdd: parseEnv(list(values, 'env-add'), '--env-add'),
    envRm: list(values, 'env-rm').map((k) => envKey(k, '--env-rm')),
    command: rest,
    publishAdd: list(values, 'publish-add').map((p) => parsePublish(p, '--publish-add')),
    publishRm: list(values, 'publish-rm').map((p) => ({ text: p, match: parsePublishRm(p) })),
    endpointAdd: parseEndpoints(list(values, 'endpoint-add'), '--endpoint-add'),
    endpointRm: parseEndpoints(list(values, 'endpoint-rm'), '--endpoint-rm'),
    hostAdd: parseHosts(list(values, 'host-add'), '--host-add'),
    hostRm: parseHosts(list(values, 'host-rm'), '--host-rm'),
    stopGrace: grace !== undefined ? durationValue(grace, '--stop-grace-period') : undefined,
    options: optionFlags(values)
  }
}

const json = (v: unknown): string => JSON.stringify(v)

export interface Planned { spec: ServiceSpec, changed: boolean, bumped: boolean, ops: WriteOp[] }

export function planUpdate (snap: Snapshot, ref: string, c: Changes, values: Values, now = Date.now()): Planned {
  const cur = findService(snap, ref)
  const next: ServiceSpec = structuredClone(cur)
  if (c.replicas !== undefined) {
    if (cur.mode === 'global') throw new MeshError('MESH_ERR_USAGE', `service ${cur.name} is global (one task per node): --replicas does not apply`)
    next.replicas = c.replicas
  }
  for (const k of c.envRm) delete next.env[k]
  Object.assign(next.env, c.envAdd)
  if (c.command !== null) next.command = c.command
  for (const p of c.publishRm) {
    if (!next.ports.some(p.match)) {
      throw new MeshError('MESH_ERR_USAGE', `--publish-rm ${p.text}: service ${cur.name} does not publish port ${p.text}`)
    }
    next.ports = next.ports.filter((x) => !p.match(x))
  }
  for (const p of c.publishAdd) {
    const had = next.ports.find((x) => p.published !== 0 && sameListener(x, p))
    if (had !== undefined) {
      const rm = `${p.published}/${p.protocol === 'udp' ? 'udp' : 'tcp'}`
      throw new MeshError('MESH_ERR_PORT_CONFLICT', `--publish-add: service ${cur.name} already publishes port ${p.published} (${had.protocol}); --publish-rm ${rm} it in the same update to change it`)
    }
    next.ports.push(p)
  }
  next.ports = assignPublishedPorts(next.ports, snap.services.values(), cur.name)
  for (const h of c.hostRm) {
    if (!next.hosts.includes(h)) throw new MeshError('MESH_ERR_USAGE', `--host-rm ${h}: service ${cur.name} has no host ${h}`)
    next.hosts = next.hosts.filter((x) => x !== h)
  }
  for (const h of c.hostAdd) if (!next.hosts.includes(h)) next.hosts.push(h)
  const health = healthFromFlags(values, cur.health ?? { interval: 5000, timeout: 2000, rise: 2, fall: 3 }, cur.health)
  if (health !== undefined) next.health = health
  next.update = updateFromFlags(values, cur.update)
  next.restart = restartFromFlags(values, cur.restart)
  if (c.stopGrace !== undefined) next.stopGrace = c.stopGrace
  // Options are written only when a flag names one (a record without them keeps reading as the defaults).
  if (hasOptionChanges(c.options)) next.options = applyOptions(optionsOf(cur.options), c.options)
  const portsChanged = !samePorts(cur.ports, next.ports)
  if (portsChanged || json(cur.hosts) !== json(next.hosts) || hasOptionChanges(c.options)) {
    checkOptionsFit(cur.name, next.ports, next.hosts, optionsOf(next.options), true)
  }
  if (c.options.cert != null) checkCertExists(snap, c.options.cert)
  if (next.mode === 'replicated' && next.replicas > 0 && next.command.length === 0) {
    throw new MeshError('MESH_ERR_COMMAND_MISSING', `service ${cur.name} has no command: --replicas ${next.replicas} needs --command -- COMMAND`)
  }
  if (portsChanged || json(cur.hosts) !== json(next.hosts)) checkPortConflicts(next, snap.services.values())

  // Static endpoints: keyed by id, slots continue after the highest.
  const ops: WriteOp[] = []
  const statics = tasksOf(snap, cur).filter((t) => t.static)
  const byKey = new Map(statics.map((t) => [endpointKey(t), t]))
  for (const ep of c.endpointRm) {
    const t = byKey.get(formatHostPort(ep.host, ep.port))
    if (t === undefined) {
      throw new MeshError('MESH_ERR_ENDPOINT_NOT_FOUND', `--endpoint-rm ${formatHostPort(ep.host, ep.port)}: not an endpoint of service ${cur.name}`)
    }
    byKey.delete(endpointKey(t))
    ops.push({ type: 'task', id: t.id, value: null }, { type: 'health', id: t.id, value: null })
  }
  let slot = statics.reduce((m, t) => Math.max(m, t.slot), 0)
  for (const ep of c.endpointAdd) {
    if (byKey.has(formatHostPort(ep.host, ep.port))) {
      throw new MeshError('MESH_ERR_INVALID_ENDPOINT', `--endpoint-add ${formatHostPort(ep.host, ep.port)}: already an endpoint of service ${cur.name}`)
    }
    const t = staticTask(next, ep, ++slot, now)
    ops.push({ type: 'task', id: t.id, value: t })
  }

  const bumped = json(cur.command) !== json(next.command) || json(cur.env) !== json(next.env) || portsChanged
  if (bumped) {
    next.version = cur.version + 1
    next.previous = asPrevious(cur)
    next.updateState = 'updating'
    next.updateMessage = 'update in progress'
  }
  const changed = json(cur) !== json(next)
  if (changed) {
    next.updatedAt = now
    ops.unshift({ type: 'service', id: next.name, value: next })
  }
  return { spec: next, changed, bumped, ops }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const { values, positionals, rest } = parsed
  const config = cliConfig(values)
  const changes = parseChanges(values, rest)
  const wait = waitOf(values)
  return await withSession(config, async (session) => {
    const { result, snapshot } = await writeChecked(session.store, (snap) => {
      const plan = planUpdate(snap, positionals[0], changes, values)
      return { ops: plan.ops, result: plan }
    })
    const before = findService(snapshot, positionals[0])
    process.stdout.write(`${result.spec.name}\n`)
    const watch = result.bumped || result.spec.replicas !== before.replicas
    if (bool(values, 'detach') || !watch || (result.spec.mode === 'replicated' && result.spec.replicas === 0 && !result.bumped)) return 0
    return await showProgress(session, result.spec, wait, result.spec.updateState)
  })
}
