/**
 * `mesh up [--nodes 3] [--redis URL] [--base-port 9180] [--set key=value]...`
 * Starts a single-machine cluster: node daemons on 127.0.0.1..N (node1 a
 * manager) with admin on 127.0.0.<i>:<base-port>, sharing the Redis at
 * --redis or a private redis-server; state in ./.mesh (see lib/cluster).
 */
import { relative } from 'node:path'
import { clusterFilePath, stateDir } from '../../cluster/cluster-file'
import { up } from '../../cluster/local'
import { envName } from '../../config/load'
import { redactUrl } from '../../util/redact'
import { intValue, list, parseFlags, parseSetFlags, str, type CommandSpec } from '../flags'
import { printTable } from '../table'

export const SPEC: CommandSpec = {
  name: 'up',
  usage: '[--nodes 3] [--redis URL] [--base-port 9180] [--set key=value]... [--demo]',
  options: { nodes: { type: 'string' }, 'base-port': { type: 'string' }, set: { type: 'string', multiple: true }, demo: { type: 'boolean' } },
  positionals: { min: 0, max: 0, what: '' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const v = parsed.values
  const nodes = intValue(str(v, 'nodes') ?? '3', '--nodes', 1, 254)
  const basePort = intValue(str(v, 'base-port') ?? '9180', '--base-port', 1, 65535)
  const cwd = process.cwd()
  const cluster = await up({ nodes, redis: str(v, 'redis') ?? null, basePort, cwd, set: parseSetFlags(list(v, 'set')) })
  const rel = (p: string): string => relative(cwd, p)
  const url = cluster.config['redis.url']
  const registry = cluster.redisPid > 0 ? `private redis-server (pid ${cluster.redisPid})` : 'given with --redis'
  process.stdout.write(`Cluster up: ${cluster.nodes.length} node${cluster.nodes.length === 1 ? '' : 's'}, registry ${redactUrl(url)} (${registry})\n\n`)
  printTable(['NODE', 'ADDRESS', 'ROLE', 'ADMIN', 'PID', 'LOG'], cluster.nodes.map((n) =>
    [n.name, n.addr, n.manager ? 'manager' : 'worker', `http://${n.admin}/metrics`, String(n.pid), rel(n.log)]))
  const token = cluster.config['node.adminToken']
  if (token !== undefined && cluster.nodes.length > 0) {
    process.stdout.write(`\nDashboard: http://${cluster.nodes[0].admin}/?token=${token}   (every node's admin address serves it; the token is kept in ${rel(clusterFilePath(stateDir(cwd)))})\n`)
  }
  if (v.demo === true) return await demo(cluster.nodes.map((n) => n.addr))
  const file = rel(clusterFilePath(stateDir(cwd)))
  // What a shell elsewhere needs to reach this cluster: its redis.* keys, never a password in clear.
  const exportLines = Object.entries(cluster.config).filter(([k]) => k.startsWith('redis.')).map(([k, value]) => {
    const shown = redactUrl(value)
    return `  export ${envName('redis', k.slice('redis.'.length))}=${shown}${shown !== value ? `   # the password is in ${file}` : ''}`
  })
  process.stdout.write([
    '',
    `mesh commands run in this directory use this cluster (${file}, readable only by you). Elsewhere:`,
    ...exportLines,
    'Then, for example:',
    '  mesh service create --name web --replicas 3 --publish 8080:80 -- mesh whoami',
    `  curl http://${cluster.nodes[cluster.nodes.length - 1].addr}:8080/`,
    'Stop it with: mesh down',
    ''
  ].join('\n'))
  return 0
}

/**
 * `--demo`: the lab's first service: `demo`, 3 replicas of `mesh whoami`
 * published on port 80 (8080 when not root: lower ports need privileges).
 */
async function demo (addrs: string[]): Promise<number> {
  const port = process.getuid?.() === 0 ? 80 : 8080
  process.stdout.write(`\nCreating the demo service: mesh service create --name demo --replicas 3 --publish ${port}:80 -- mesh whoami\n`)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const create = require('./service-create') as { run: (argv: string[]) => Promise<number> }
  // Run in this directory, it finds the cluster through .mesh/cluster.json like any mesh command here.
  const code = await create.run(['--name', 'demo', '--replicas', '3', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])
  if (code !== 0) return code
  const suffix = port === 80 ? '' : `:${port}`
  process.stdout.write([
    '',
    'Every node answers on the published port, round robin over the tasks wherever they run:',
    ...addrs.map((a) => `  curl ${a}${suffix}`),
    '',
    'mesh commands run in this directory talk to this cluster (.mesh/cluster.json), e.g.',
    '  mesh service ps demo',
    '  mesh service scale demo=5',
    '  mesh node ls',
    'Stop it with: mesh down   (mesh is on PATH after npm link; npx mesh works in this checkout too)',
    ''
  ].join('\n'))
  return 0
}
