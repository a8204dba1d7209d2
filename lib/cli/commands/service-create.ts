/** `mesh service create --name web [--publish 8080:80]... [--endpoint H:P]... -- COMMAND [ARG...]` */
import { MeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import { staticTask } from '../../service/endpoints'
import { checkPortConflicts } from '../../service/ports'
import { specFromCreateFlags } from '../../service/spec'
import { writeChecked } from '../../service/write'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { showProgress } from '../progress'
import { withSession } from '../registry-session'
import { SPEC_OPTIONS, WAIT_OPTIONS, timeoutOf } from '../service-options'

export const SPEC: CommandSpec = {
  name: 'service create',
  usage: '--name NAME [--publish PUB:TARGET[/tcp]]... [--endpoint HOST:PORT]... [--host NAME]... [--replicas N] [--mode replicated|global] [--env K=V]... [FLAGS] [-- COMMAND [ARG...]]',
  options: {
    name: { type: 'string' },
    publish: { type: 'string', multiple: true, short: 'p' },
    endpoint: { type: 'string', multiple: true },
    host: { type: 'string', multiple: true },
    replicas: { type: 'string' },
    mode: { type: 'string' },
    env: { type: 'string', multiple: true, short: 'e' },
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
  const timeout = timeoutOf(values)
  return await withSession(config, async (session) => {
    await writeChecked(session.store, (snap) => {
      if (snap.services.has(spec.name)) {
        throw new MeshError('MESH_ERR_SERVICE_EXISTS', `service ${spec.name} already exists; use mesh service update ${spec.name} or pick another --name`)
      }
      checkPortConflicts(spec, snap.services.values())
      const now = Date.now()
      const ops: WriteOp[] = [{ type: 'service', id: spec.name, value: spec }]
      endpoints.forEach((ep, i) => {
        const task = staticTask(spec, ep, i + 1, now)
        ops.push({ type: 'task', id: task.id, value: task })
      })
      return { ops, result: undefined }
    })
    process.stdout.write(`${spec.id}\n`)
    if (bool(values, 'detach') || (spec.mode === 'replicated' && spec.replicas === 0)) return 0
    return await showProgress(session.store, spec, timeout)
  })
}
