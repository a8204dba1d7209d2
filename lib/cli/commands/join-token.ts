/**
 * `mesh join-token [-q] [--rotate] worker|manager`, as `docker swarm join-token`:
 * prints the command that joins a node with that role (or, with -q, the
 * token alone); --rotate first replaces the token's secret, so only the new
 * token joins from then on; nodes that joined keep their own credentials.
 * Needs a manager's credential (the tokens' secrets are not readable by a
 * worker's).
 */
import type { Role } from '../../registry/acl'
import { formatToken } from '../../node/join-token'
import { joinSecret, notManager, rotateJoinSecret } from '../../node/provision'
import { joinAddress } from '../../node/state-dir'
import { bool, cliConfig, enumValue, parseFlags, type CommandSpec } from '../flags'
import { withSession } from '../registry-session'
import { prefixFlag } from './init'

export const SPEC: CommandSpec = {
  name: 'join-token',
  usage: '[-q] [--rotate] worker|manager',
  options: {
    quiet: { type: 'boolean', short: 'q', description: 'Only display token' },
    rotate: { type: 'boolean', description: 'Rotate join token' }
  },
  positionals: { min: 1, max: 1, what: 'the role (worker or manager)' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const role = enumValue(parsed.positionals[0], 'role', ['worker', 'manager'] as const) as Role
  const config = cliConfig(parsed.values)
  await withSession(config, async ({ store }) => {
    const epoch = await store.redis.get(store.keys.epoch)
    if (epoch === null) throw notManager()
    const secret = bool(parsed.values, 'rotate')
      ? await rotateJoinSecret(store, role).catch((err: Error) => { throw /NOPERM/.test(err.message) ? notManager() : err })
      : await joinSecret(store, role)
    const token = formatToken(epoch, secret)
    if (bool(parsed.values, 'quiet')) {
      process.stdout.write(`${token}\n`)
      return
    }
    if (bool(parsed.values, 'rotate')) process.stdout.write(`Successfully rotated ${role} join token.\n\n`)
    process.stdout.write(`To add a ${role} to this cluster, run the following command:\n\n    mesh join --token ${token}${prefixFlag(store.keys.prefix)} ${joinAddress(config.redis.url)}\n\n`)
  })
  return 0
}
