/**
 * `mesh node start --name n1 --advertise 127.0.0.1 [--bind ADDR] [--redis URL]
 *  [--admin 127.0.0.1:9180] [--config FILE] [--set key=value]... [--workers N] [--manager]`
 * `mesh node start --state-dir DIR` (a node that joined: `mesh init`, `mesh join`, `mesh up` start it so)
 * Runs a node daemon in the foreground until SIGTERM/SIGINT.
 */
import cluster from 'node:cluster'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { localConfig } from '../../cluster/cluster-file'
import { loadConfig } from '../../config/load'
import type { Config } from '../../config/schema'
import { MeshError } from '../../errors'
import { startNode, type JoinedIdentity } from '../../index'
import { daemonMarker, isOurs } from '../../node/daemon'
import { pidFile, readNodeState, stateConfig, stateFile } from '../../node/state-dir'
import { createLogger } from '../../util/log'
import { hasSecret } from '../../util/redact'
import { parseSetFlags } from '../flags'

const log = createLogger('node')

const USAGE = `Usage: mesh node start --name NAME --advertise ADDR [--bind ADDR] [--redis URL] [--admin HOST:PORT]
                       [--config FILE] [--set section.key=value]... [--workers N] [--manager]
       mesh node start --state-dir DIR [--bind ADDR] [--config FILE] [--set section.key=value]... [--workers N]

Runs a node daemon in the foreground: registers the node, heartbeats, opens a
listener for every published port of every service, runs its tasks, and with
--manager competes to run the scheduler. SIGTERM/SIGINT stop it gracefully.

With --state-dir it runs a node that joined with a token (mesh init, mesh join
and mesh up start it so, in the background): who it is, its role and its own
registry credential are read from DIR/node.json; --redis, --name, --advertise
and --manager are not needed. Without it the node uses the credential of
--redis (the cluster's admin credential) and is identified by its name.
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
      manager: { type: 'boolean' },
      'state-dir': { type: 'string' }
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
  const dir = values['state-dir']
  let config: Config
  let joined: JoinedIdentity | undefined
  let release = (): void => {}
  if (dir !== undefined) {
    const state = readNodeState(dir)
    if (state === null) throw new MeshError('MESH_ERR_USAGE', `--state-dir ${dir}: no ${stateFile(dir)} (this node has not joined a cluster: mesh join --token TOKEN ADDR)`)
    if (values.name !== undefined && values.name !== state.name) throw new MeshError('MESH_ERR_USAGE', `--name ${values.name}: the node in ${dir} is ${state.name}`)
    // Its own credential and identity, from the state directory; flags still tune the rest.
    config = loadConfig({ file: values.config, cluster: { file: stateFile(dir), values: stateConfig(state) }, overrides: { ...overrides, 'redis.url': undefined, 'node.name': undefined, 'node.advertise': undefined, 'node.manager': undefined } })
    joined = { id: state.id, user: state.user, role: state.role }
    // The primary claims the node; the --workers processes it forks run the same command line.
    if (cluster.isPrimary) release = claimPidFile(dir, state.name)
  } else {
    // In a `mesh up` directory the node joins that cluster (.mesh/cluster.json), as every mesh command there does.
    config = localConfig(process.cwd(), { file: values.config, overrides })
  }
  const node = await startNode(config, joined)
  log.info(`node ${config.node.name} serving published ports on ${config.node.bind}${config.node.admin !== '' ? `, admin http://${config.node.admin}/metrics` : ''}`)
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      log.info(`${sig}: stopping (grace ${config.node.shutdownGrace} ms)`)
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      node.stop().then(resolve, (err: Error) => { log.error(`stop failed: ${err.message}`); resolve() }).finally(release)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  return 0
}

/** One daemon per joined node: a second one on the same state directory is refused (MESH_ERR_NODE_CLAIMED). */
function claimPidFile (dir: string, name: string): () => void {
  const file = pidFile(dir)
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim())
    if (pid !== process.pid && isOurs(pid, daemonMarker(name))) {
      throw new MeshError('MESH_ERR_NODE_CLAIMED', `node ${name} already runs (pid ${pid}, ${file}): one daemon per node`)
    }
  }
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 })
  return () => {
    try {
      if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true })
    } catch {
      // already gone (mesh leave removed the state)
    }
  }
}
