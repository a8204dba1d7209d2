/** `mesh down`: stops the cluster `mesh up` started in this directory (only its own processes). */
import { stateDir } from '../../cluster/cluster-file'
import { down } from '../../cluster/local'
import { parseFlags, type CommandSpec } from '../flags'

export const SPEC: CommandSpec = {
  name: 'down',
  usage: '',
  options: {},
  positionals: { min: 0, max: 0, what: '' }
}

export async function run (argv: string[]): Promise<number> {
  if (parseFlags(argv, SPEC) === null) return 0
  const { file, stopped } = await down(stateDir(process.cwd()))
  const gone = file.nodes.map((n) => n.name).filter((n) => !stopped.includes(n))
  process.stdout.write(`Stopped ${stopped.length === 0 ? 'nothing (every process had exited)' : stopped.join(', ')}\n`)
  if (gone.length > 0) process.stdout.write(`Already gone: ${gone.join(', ')}\n`)
  if (file.redisPid === 0) process.stdout.write(`The registry at the --redis URL was left running\n`)
  return 0
}
