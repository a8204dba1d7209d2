/**
 * `mesh init [--redis URL]`: founds a cluster in a new Redis, as
 * `docker swarm init` does: writes its epoch (README "Restore and epochs"),
 * the one thing no node and no other command may create. Then nodes join
 * with `mesh node start`. (`mesh up` does this itself.)
 *
 * Refused when the registry already holds a cluster, and when anything
 * already lives under the prefix without an epoch: that is a registry that
 * was flushed or restarted empty and that its nodes are restoring (they
 * heartbeat into it at once); a new epoch would make them drop their state.
 */
import { MeshError } from '../../errors'
import { redactUrl } from '../../util/redact'
import { cliConfig, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'

export const SPEC: CommandSpec = {
  name: 'init',
  usage: '',
  options: {},
  positionals: { min: 0, max: 0, what: '' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const config = cliConfig(parsed.values)
  const where = redactUrl(config.redis.url)
  return await withSession(config, async ({ store }) => {
    const existing = await store.redis.get(store.keys.epoch)
    if (existing !== null) {
      throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} already holds a cluster (epoch ${existing}); nodes join it with mesh node start`)
    }
    let cursor = '0'
    do {
      const [next, keys] = await store.redis.scan(cursor, 'MATCH', `${store.keys.prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) {
        throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} holds keys under "${store.keys.prefix}" (${keys[0]}) but no cluster epoch: ` +
          'it was flushed or restarted empty and its nodes are restoring it; wait for them (mesh node ls) rather than found a new cluster over it')
      }
      cursor = next
    } while (cursor !== '0')
    const { created, epoch } = await store.createCluster()
    if (!created) throw new MeshError('MESH_ERR_CLUSTER', `the registry at ${where} already holds a cluster (epoch ${epoch}), founded a moment ago`)
    process.stdout.write(`Cluster created in the registry at ${where} (epoch ${epoch}).\nAdd nodes with: mesh node start --name NAME --advertise ADDR [--manager]\n`)
    return 0
  })
}
