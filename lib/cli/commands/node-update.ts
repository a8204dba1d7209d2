/** `mesh node update --availability active|pause|drain NODE` (NODE: name, id or unique id prefix). */
import { MeshError } from '../../errors'
import type { Availability } from '../../registry/types'
import { nodeSpecOf } from '../../registry/parts'
import { findNode } from '../../service/lookup'
import { enumValue } from '../../service/values'
import { writeChecked } from '../../service/write'
import { cliConfig, parseFlags, str, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'node update',
  usage: '--availability active|pause|drain NODE',
  options: { availability: { type: 'string' } },
  positionals: { min: 1, max: 1, what: 'node name or id' }
}

export const AVAILABILITIES: readonly Availability[] = ['active', 'pause', 'drain']

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const text = str(parsed.values, 'availability')
  if (text === undefined) throw new MeshError('MESH_ERR_USAGE', 'nothing to update: give --availability active|pause|drain (see mesh node update --help)')
  const availability = enumValue(text, '--availability', AVAILABILITIES)
  const config = cliConfig(parsed.values)
  const ref = parsed.positionals[0]
  await withSession(config, async (session) => {
    await writeChecked(session.store, (snap) => {
      const node = findNode(snap, ref)
      if (node.availability === availability) return { ops: [], result: undefined }
      // The node's spec only: its own status (ready, admin address) is the node's to report.
      return { ops: [{ type: 'nodeSpec', id: node.id, value: nodeSpecOf({ ...node, availability }) }], result: undefined }
    })
  })
  process.stdout.write(`${ref}\n`)
  return 0
}
