/**
 * `mesh node start --name n1 --advertise 127.0.0.1 [--bind ADDR] [--redis URL]
 *  [--admin 127.0.0.1:9180] [--config FILE] [--set key=value]... [--workers N] [--manager]`
 * Runs a node daemon in the foreground until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util'
import { localConfig } from '../../cluster/cluster-file'
import { startNode } from '../../index'
import { createLogger } from '../../util/log'
import { hasSecret } from '../../util/redact'
import { parseSetFlags } from '../flags'

const log = createLogger('node')

const USAGE = `Usage: mesh node start --name NAME --advertise ADDR [--bind ADDR] [--redis URL] [--admin HOST:PORT]
                       [--config FILE] [--set section.key=value]... [--workers N] [--manager]

Runs a node daemon in the foreground: registers the node, heartbeats, opens a
listener for every published port of every service, runs its tasks, and with
--manager competes to run the scheduler. SIGTERM/SIGINT stop it gracefully.
`

/** A password on the command line: main.ts already hid it from ps; say where it belongs instead. */
function warnArgvSecret (argv: string[]): void {
  if (!hasSecret(argv.join(' '))) return
  log.warn('a Redis password was given on the command line, where ps showed it to every user until the process rewrote its title; pass it in MESH_REDIS_URL or a --config file (mode 0600) instead')
}

export async function run (argv: string[]): Promise<number> {
  warnArgvSecret(argv)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE)
    return 0
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      advertise: { type: 'string' },
      bind: { type: 'string' },
      admin: { type: 'string' },
      redis: { type: 'string' },
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      workers: { type: 'string' },
      manager: { type: 'boolean' }
    },
    strict: true,
    allowPositionals: false
  })
  const overrides: Record<string, unknown> = {
    ...parseSetFlags(values.set),
    'node.name': values.name,
    'node.advertise': values.advertise,
    'node.bind': values.bind,
    'node.admin': values.admin,
    'redis.url': values.redis,
    'node.workers': values.workers,
    'node.manager': values.manager === true ? true : undefined
  }
  // In a `mesh up` directory the node joins that cluster (.mesh/cluster.json), as every mesh command there does.
  const config = localConfig(process.cwd(), { file: values.config, overrides })
  const node = await startNode(config)
  log.info(`node ${config.node.name} serving published ports on ${config.node.bind}${config.node.admin !== '' ? `, admin http://${config.node.admin}/metrics` : ''}`)
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      log.info(`${sig}: stopping (grace ${config.node.shutdownGrace} ms)`)
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      node.stop().then(resolve, (err: Error) => { log.error(`stop failed: ${err.message}`); resolve() })
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  return 0
}
