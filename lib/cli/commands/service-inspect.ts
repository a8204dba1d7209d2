/** `mesh service inspect NAME...`: a JSON array of specs (with their static endpoints), like docker. */
import { findService, tasksOf } from '../../service/lookup'
import { endpointKey } from '../../service/endpoints'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'service inspect',
  usage: 'SERVICE [SERVICE...]',
  options: {},
  positionals: { min: 1, max: 100, what: 'service name' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const snap = await withSession(config, async (s) => await s.store.snapshot())
  const out = parsed.positionals.map((ref) => {
    const spec = findService(snap, ref)
    const endpoints = tasksOf(snap, spec).filter((t) => t.static).sort((a, b) => a.slot - b.slot).map(endpointKey)
    return { ...spec, endpoints }
  })
  process.stdout.write(`${JSON.stringify(out, null, 4)}\n`)
  return 0
}
