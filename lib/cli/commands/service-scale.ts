/** `mesh service scale web=5 api=2`: every pair validated first, then one atomic write. */
import { MeshError } from '../../errors'
import type { WriteOp } from '../../registry/store'
import type { ServiceSpec } from '../../registry/types'
import { findService } from '../../service/lookup'
import { replicasValue } from '../../service/values'
import { writeChecked } from '../../service/write'
import { bool, cliConfig, parseFlags, type CommandSpec } from '../flags'
import { showProgress } from '../progress'
import { withSession } from '../registry-session'
import { WAIT_OPTIONS, waitOf } from '../service-options'

export const SPEC: CommandSpec = {
  name: 'service scale',
  usage: '[OPTIONS] SERVICE=REPLICAS [SERVICE=REPLICAS...]',
  options: { ...WAIT_OPTIONS },
  positionals: { min: 1, max: 100, what: 'SERVICE=REPLICAS (e.g. web=5)' }
}

export function parsePairs (args: string[]): Array<[string, number]> {
  const seen = new Set<string>()
  return args.map((arg) => {
    const eq = arg.lastIndexOf('=')
    if (eq <= 0) throw new MeshError('MESH_ERR_USAGE', `"${arg}" is not SERVICE=REPLICAS (e.g. web=5)`)
    const name = arg.slice(0, eq)
    if (seen.has(name)) throw new MeshError('MESH_ERR_USAGE', `service ${name} is given twice`)
    seen.add(name)
    return [name, replicasValue(arg.slice(eq + 1), `${name}=`)]
  })
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const pairs = parsePairs(parsed.positionals)
  const wait = waitOf(parsed.values)
  return await withSession(config, async (session) => {
    const { result } = await writeChecked(session.store, (snap) => {
      const now = Date.now()
      const ops: WriteOp[] = []
      const scaled: ServiceSpec[] = []
      for (const [ref, replicas] of pairs) {
        const cur = findService(snap, ref)
        if (cur.mode === 'global') throw new MeshError('MESH_ERR_USAGE', `service ${cur.name} is global (one task per node) and cannot be scaled`)
        if (replicas > 0 && cur.command.length === 0) {
          throw new MeshError('MESH_ERR_COMMAND_MISSING', `service ${cur.name} has only static endpoints and no command: it cannot be scaled to ${replicas}`)
        }
        const next = cur.replicas === replicas ? cur : { ...cur, replicas, updatedAt: now }
        if (next !== cur) ops.push({ type: 'service', id: next.name, value: next })
        scaled.push(next)
      }
      return { ops, result: scaled }
    })
    for (const s of result) process.stdout.write(`${s.name} scaled to ${s.replicas}\n`)
    if (bool(parsed.values, 'detach')) return 0
    for (const s of result) {
      if (s.replicas === 0) continue
      const code = await showProgress(session, s, wait)
      if (code !== 0) return code
    }
    return 0
  })
}
