/**
 * The registry `mesh up` and `mesh init` start when no --redis is given: a
 * redis-server on a free port, without data persistence, whose users live
 * in an ACL file next to it (saved on every membership change, so node
 * credentials survive a restart of it): `default` is off, and one admin
 * user, whose password only the 0600 files of the cluster hold, creates
 * the others (its URL is in admin.url beside it, mode 0600). Nothing
 * secret is on its command line.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { MeshError } from '../errors'
import { userTag } from '../registry/acl'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export async function freePort (host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const a = srv.address()
      srv.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0) })
    })
  })
}

export interface PrivateRedis { url: string, pid: number, dir: string }

export async function startPrivateRedis (dir: string, bind: string, prefix: string): Promise<PrivateRedis> {
  const port = await freePort(bind)
  const user = `${userTag(prefix)}admin`
  const password = randomBytes(24).toString('hex')
  const acl = join(dir, 'users.acl')
  writeFileSync(acl, `user default off\nuser ${user} on >${password} ~* &* +@all\n`, { mode: 0o600 })
  const log = openSync(join(dir, 'redis.log'), 'a', 0o600)
  const child = spawn('redis-server', ['--port', String(port), '--bind', bind, '--save', '', '--appendonly', 'no', '--dir', dir, '--aclfile', acl],
    { detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  const failed = new Promise<Error>((resolve) => { child.once('error', resolve) })
  const spawned = await Promise.race([failed, sleep(100).then(() => null)])
  if (spawned !== null || child.pid === undefined) {
    throw new MeshError('MESH_ERR_CLUSTER', `cannot start redis-server (${spawned?.message ?? 'no pid'}): install it (apt-get install redis-server) or pass --redis URL`)
  }
  child.unref()
  const url = `redis://${user}:${password}@${bind.includes(':') ? `[${bind}]` : bind}:${port}`
  // For the operator (redis-cli, mesh --redis): the users file holds only hashes once Redis saved it.
  writeFileSync(join(dir, 'admin.url'), `${url}\n`, { mode: 0o600 })
  return { url, pid: child.pid, dir }
}
