/**
 * Task processes a node daemon no longer owns: left running by a previous
 * life of the daemon whose supervisors died with it (a SIGKILL of the
 * whole tree, an OOM kill). They are found by what they carry, not by the
 * registry (whose records of a removed service are deleted meanwhile):
 * every task's environment holds MESH_TASK_OWNER, a tag of the node in its
 * cluster (node id, registry address and prefix; never a credential), which
 * its own children inherit too. A process is only ever signalled after its
 * /proc environ proved it carries that tag (or that task id), so a
 * recycled pid is never hit.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { redisIdentity } from '../config/redis-url'

export const OWNER_VAR = 'MESH_TASK_OWNER'

/** The owner tag of node `nodeId` in the cluster at `redisUrl` under `prefix`. */
export function ownerTag (redisUrl: string, prefix: string, nodeId: string): string {
  // redisIdentity: the registry's address without credentials, for every URL form (Sentinel too).
  return createHash('sha256').update(`${redisIdentity(redisUrl)}\n${prefix}\n${nodeId}`).digest('hex').slice(0, 24)
}

function environ (pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
  } catch {
    return null // gone, or not ours to read
  }
}

function kill (pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}

/** SIGKILLs the process group of `pid` if that process is task `taskId`; true when it was. */
export function killTask (pid: number, taskId: string): boolean {
  if (!(pid > 0) || environ(pid)?.includes(`MESH_TASK_ID=${taskId}`) !== true) return false
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    kill(pid)
  }
  return true
}

/**
 * SIGKILLs every process tagged `owner` whose task id is not in `owned`;
 * returns their task ids (one per process killed). No /proc: nothing found.
 */
export function killOrphans (owner: string, owned: ReadonlySet<string>): string[] {
  let pids: number[]
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== process.pid)
  } catch {
    return []
  }
  const tag = `${OWNER_VAR}=${owner}`
  const killed: string[] = []
  for (const pid of pids) {
    const env = environ(pid)
    if (env === null || !env.includes(tag)) continue
    const id = env.find((e) => e.startsWith('MESH_TASK_ID='))?.slice('MESH_TASK_ID='.length) ?? ''
    if (owned.has(id)) continue
    if (kill(pid)) killed.push(id)
  }
  return killed
}
