/** `mesh service create --name web [--publish 8080:80]... [--endpoint H:P]... -- COMMAND [ARG...]` */
import { MeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import { staticTask } from '../../service/endpoints'
import { assignPublishedPorts, checkPortConflicts } from '../../service/ports'
import type { ServiceSpec } from '../../registry/types'
import { checkCertExists } from '../../service/route-options'
import { specFromCreateFlags } from '../../service/spec'
import { writeChecked } from '../../service/write'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { showProgress } from '../progress'
import { withSession } from '../registry-session'
import { SPEC_OPTIONS, WAIT_OPTIONS, waitOf } from '../service-options'

export const SPEC: CommandSpec = {
  name: 'service create',
  usage: '--name NAME [OPTIONS] [-- COMMAND [ARG...]]',
  description: 'Create a service: replicas of COMMAND run as tasks on the nodes (or --endpoint addresses served as they are),\n' +
    'every published port answering on every node. Prints the service id, then the converge progress unless --detach.',
  options: {
    name: { type: 'string', value: 'NAME', description: 'Service name' },
    publish: {
      type: 'string',
      multiple: true,
      short: 'p',
      value: '[PUB:]TARGET[/PROTO]',
      description: 'Publish a port on every node: PUB:TARGET is L7 HTTP, /https HTTP behind TLS (--cert), /tcp L4, /tls TLS passed through by SNI (--host), /udp datagrams; a bare TARGET gets a free port from 30000-32767'
    },
    endpoint: { type: 'string', multiple: true, value: 'HOST:PORT', description: 'Route to an address that runs outside the mesh (a static endpoint)' },
    host: { type: 'string', multiple: true, value: 'NAME', description: 'Answer only requests for this Host (exact or *.suffix; the SNI name on tls ports), to share an http, https or tls port' },
    replicas: { type: 'string', value: 'N', description: 'Number of tasks', default: '1 with a command, 0 without' },
    mode: { type: 'string', value: 'MODE', description: 'Service mode ("replicated", "global": one task per active node)', default: 'replicated', choices: ['replicated', 'global'] },
    env: { type: 'string', multiple: true, short: 'e', value: 'KEY=VALUE', description: 'Set an environment variable of the tasks' },
    ...SPEC_OPTIONS,
    ...WAIT_OPTIONS
  },
  positionals: { min: 0, max: 0, what: '' },
  rest: true
}

export async function run (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseFlags(argv, SPEC)
  } catch (err) {
    if (err instanceof MeshError && err.message.startsWith('unexpected argument')) {
      throw new MeshError('MESH_ERR_USAGE', `${err.message.split(' (')[0]}: put the command after --, e.g. mesh service create --name web -- mesh whoami`)
    }
    throw err
  }
  if (parsed === null) return 0
  const { values, rest } = parsed
  const config = cliConfig(values)
  const { spec, endpoints } = specFromCreateFlags(values, rest, config)
  const wait = waitOf(values)
  return await withSession(config, async (session) => {
    await writeChecked(session.store, (snap) => {
      if (snap.services.has(spec.name)) {
        throw new MeshError('MESH_ERR_SERVICE_EXISTS', `service ${spec.name} already exists; use mesh service update ${spec.name} or pick another --name`)
      }
      const placed: ServiceSpec = { ...spec, ports: assignPublishedPorts(spec.ports, snap.services.values()) }
      checkPortConflicts(placed, snap.services.values())
      checkCertExists(snap, spec.options?.cert ?? null)
      const now = Date.now()
      const ops: WriteOp[] = [{ type: 'service', id: spec.name, value: placed }]
      endpoints.forEach((ep, i) => {
        const task = staticTask(spec, ep, i + 1, now)
        ops.push({ type: 'task', id: task.id, value: task })
      })
      return { ops, result: undefined }
    })
    process.stdout.write(`${spec.id}\n`)
    if (bool(values, 'detach') || (spec.mode === 'replicated' && spec.replicas === 0)) return 0
    return await showProgress(session, spec, wait)
  })
}
