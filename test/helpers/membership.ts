/**
 * Clusters made the way the Swarm lab makes them: `mesh init` in one
 * directory (a "machine"), `mesh join` in others, each node's daemon in
 * the background with its state in <dir>/.mesh. Everything is torn down
 * with the test: each daemon by the pid its state directory names (checked
 * to be that node's daemon first), the private registry by its pid.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import Redis from 'ioredis'
import { daemonMarker, isOurs } from '../../lib/node/daemon'
import type { NodeState } from '../../lib/node/state-dir'
import { runMesh, type RunResult } from './mesh'

/** Fast timings for every node of the cluster (as --set flags). */
export const MEMBER_FAST = ['node.heartbeatInterval=200ms', 'node.heartbeatTtl=1s', 'registry.livenessInterval=200ms', 'registry.blockTimeout=1s',
  'scheduler.reconcileInterval=500ms', 'scheduler.leaseTtl=2s', 'tasks.drainDelay=300ms', 'redis.reconnectMaxDelay=200ms', 'proxy.warmupRequests=0']
export const FAST_FLAGS = MEMBER_FAST.flatMap((kv) => ['--set', kv])

export interface Machine {
  dir: string
  mesh: (args: string[]) => Promise<RunResult>
  state: () => NodeState | null
  /** The daemon's pid (0 when none). */
  pid: () => number
  log: () => string
}

export class Lab {
  readonly machines: Machine[] = []
  /** The worker join line init printed, and its parts. */
  joinLine = ''
  token = ''
  address = ''
  /** Every private registry an init started (a later init, refused or not, must not make the lab forget one). */
  readonly #redisPids: number[] = []

  static async start (t: Test): Promise<Lab> {
    const lab = new Lab()
    t.teardown(async () => { await lab.close() })
    return lab
  }

  machine (): Machine {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-machine-'))
    const stateFile = join(dir, '.mesh', 'node.json')
    const m: Machine = {
      dir,
      mesh: async (args) => await runMesh(args, { cwd: dir }),
      state: () => existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) as NodeState : null,
      pid: () => {
        try { return Number(readFileSync(join(dir, '.mesh', 'node.pid'), 'utf8')) } catch { return 0 }
      },
      log: () => { try { return readFileSync(join(dir, '.mesh', 'node.log'), 'utf8') } catch { return '' } }
    }
    this.machines.push(m)
    return m
  }

  /** `mesh init` on a new machine (a private registry); remembers the printed join line. */
  async init (name: string, addr: string, extra: string[] = []): Promise<{ machine: Machine, run: RunResult }> {
    const machine = this.machine()
    const run = await machine.mesh(['init', '--name', name, '--advertise', addr, ...FAST_FLAGS, ...extra])
    const state = machine.state()
    if (state?.redisPid !== undefined) this.#redisPids.push(state.redisPid)
    const line = /^ {4}(mesh join --token (\S+) (\S+))$/m.exec(run.stdout)
    if (line !== null) [, this.joinLine, this.token, this.address] = line
    return { machine, run }
  }

  /** `mesh join` on a new machine with `token` (default: init's worker token). */
  async join (name: string, addr: string, token = this.token, extra: string[] = []): Promise<{ machine: Machine, run: RunResult }> {
    const machine = this.machine()
    const run = await machine.mesh(['join', '--token', token, this.address, '--name', name, '--advertise', addr, ...FAST_FLAGS, ...extra])
    return { machine, run }
  }

  /** An admin connection to the private registry (its URL is in the init machine's registry/admin.url). */
  admin (): Redis {
    const url = readFileSync(join(this.machines[0].dir, '.mesh', 'registry', 'admin.url'), 'utf8').trim()
    const r = new Redis(url, { maxRetriesPerRequest: 1 })
    r.on('error', () => {})
    return r
  }

  async close (): Promise<void> {
    const registries = new Set(this.#redisPids)
    for (const m of this.machines) {
      const state = m.state()
      const pid = m.pid()
      if (state !== null && isOurs(pid, daemonMarker(state.name))) process.kill(pid, 'SIGKILL')
      // A machine a test ran `mesh init` on by itself (not through init()) has its private registry too.
      if (state?.redisPid !== undefined) registries.add(state.redisPid)
    }
    for (const pid of registries) if (isOurs(pid, 'redis-server')) process.kill(pid, 'SIGKILL')
    for (const m of this.machines) rmSync(m.dir, { recursive: true, force: true })
  }
}
