/**
 * `mesh whoami --listen HOST:PORT [--name NAME] [--version-tag TEXT] [--quiet]`
 * Run as a task (no --listen), it listens on MESH_TASK_HOST (default
 * 127.0.0.1):PORT and is named MESH_TASK_NAME. `GET /?wait=5s` answers after
 * 5 s. SIGTERM/SIGINT: stop accepting, finish the requests in flight, exit 0.
 */
import { MeshError } from '../../errors'
import { parseHostPort, parsePort } from '../../util/address'
import { startWhoami } from '../../whoami/server'
import { bool, parseFlags, str, type CommandSpec } from '../flags'

export const SPEC: CommandSpec = {
  name: 'whoami',
  usage: '[OPTIONS]',
  description: 'A tiny HTTP server that answers every request with its name (and --version-tag): a task to curl.\n' +
    'Run as a task it listens on the PORT and MESH_TASK_HOST the agent gives it. GET /?wait=5s answers 5 s late.',
  options: {
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to listen on', default: 'MESH_TASK_HOST:PORT of a task' },
    name: { type: 'string', value: 'NAME', description: 'Name to answer with', default: 'MESH_TASK_NAME of a task' },
    'version-tag': { type: 'string', value: 'TEXT', description: 'Text answered after the name (e.g. v2)' },
    quiet: { type: 'boolean', short: 'q', description: 'Do not log requests' }
  },
  positionals: { min: 0, max: 0, what: '' }
}

/** The task environment the agent hands a task (the CLI edge is where it is read). */
export interface TaskEnv { PORT?: string, MESH_TASK_HOST?: string, MESH_TASK_NAME?: string }

export function listenAddress (listen: string | undefined, env: TaskEnv): { host: string, port: number } {
  if (listen !== undefined) return parseHostPort(listen, '--listen')
  if (env.PORT !== undefined && env.PORT !== '') {
    return { host: env.MESH_TASK_HOST !== undefined && env.MESH_TASK_HOST !== '' ? env.MESH_TASK_HOST : '127.0.0.1', port: parsePort(env.PORT, 'PORT') }
  }
  throw new MeshError('MESH_ERR_USAGE', 'whoami needs --listen HOST:PORT (or the PORT env a task gets)')
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const env: TaskEnv = process.env
  const { host, port } = listenAddress(str(parsed.values, 'listen'), env)
  const name = str(parsed.values, 'name') ?? (env.MESH_TASK_NAME !== undefined && env.MESH_TASK_NAME !== '' ? env.MESH_TASK_NAME : undefined)
  let w
  try {
    w = await startWhoami({ host, port, name, tag: str(parsed.values, 'version-tag'), log: bool(parsed.values, 'quiet') ? null : undefined })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new MeshError('MESH_ERR_LISTEN', `whoami cannot listen on ${host}:${port} (${code})`, { cause: err })
  }
  process.stderr.write(`whoami ${w.body.trimEnd()} listening on ${host}:${w.address.port}\n`)
  const whoami = w
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGTERM', stop)
      process.removeListener('SIGINT', stop)
      whoami.close().then(resolve, resolve)
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  return 0
}
