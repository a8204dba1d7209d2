/**
 * A node daemon in the background, as `mesh init`, `mesh join` and `mesh up`
 * start it: `mesh node start --name NAME --state-dir DIR`, detached, its
 * output appended to a log file, its pid in DIR/node.pid. It reads who it is
 * and its credential from DIR (state-dir.ts), so nothing secret is on its
 * command line, and none of this shell's MESH_* variables for those keys
 * reaches it. A pid is only ever signalled after its command line proved
 * it is that node's daemon (a recycled pid is never hit).
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envWithout } from '../config/load'
import { MeshError } from '../errors'
import type { RegistryStore } from '../registry/store'
import { pidFile } from './state-dir'

export const MESH_CLI = join(__dirname, '..', 'cli', 'main.js')

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** True when `pid` is alive and its command line contains `marker` (so a recycled pid is not ours). */
export function isOurs (pid: number, marker: string): boolean {
  if (!(pid > 0)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)
  } catch {
    try {
      process.kill(pid, 0)
      return true // no /proc: trust the recorded pid
    } catch {
      return false
    }
  }
}

/** What a node daemon's command line holds (mesh down and mesh leave check it before signalling). */
export const daemonMarker = (name: string): string => `node start --name ${name} `

export interface DaemonOptions {
  name: string
  stateDir: string
  log: string
  cwd: string
  /** Config keys the daemon takes from its state: MESH_* variables for them are not passed on. */
  keys: string[]
  extra?: string[]
}

/** Starts the daemon; returns its pid (also written to the state directory). */
export function spawnDaemon (o: DaemonOptions): number {
  const log = openSync(o.log, 'a', 0o600)
  const args = [MESH_CLI, 'node', 'start', '--name', o.name, '--state-dir', o.stateDir, ...(o.extra ?? [])]
  const child = spawn(process.execPath, args, { cwd: o.cwd, env: envWithout(o.keys), detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  if (child.pid === undefined) throw new MeshError('MESH_ERR_CLUSTER', `cannot start the daemon of node ${o.name}`)
  child.unref()
  writeFileSync(pidFile(o.stateDir), `${child.pid}\n`, { mode: 0o600 })
  return child.pid
}

/** The pid of the daemon running node `name` from `stateDir`, or null when none runs. */
export function runningDaemon (stateDir: string, name: string): number | null {
  const file = pidFile(stateDir)
  if (!existsSync(file)) return null
  const pid = Number(readFileSync(file, 'utf8').trim())
  return isOurs(pid, daemonMarker(name)) ? pid : null
}

/** The last lines of a log, indented, for an error message. */
export function tail (file: string, lines = 10): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n')
  } catch {
    return '  (no log)'
  }
}

/**
 * Waits until node `nodeId` is ready (its status reported and its heartbeat
 * beating) and `also()` holds; throws naming the log when the daemon exits first.
 */
export async function waitReady (store: RegistryStore, node: { id: string, name: string, pid: number, log: string }, ms: number, also: () => Promise<boolean> = async () => true): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (!isOurs(node.pid, daemonMarker(node.name))) {
      throw new MeshError('MESH_ERR_CLUSTER', `the daemon of node ${node.name} exited during start-up; see ${node.log}:\n${tail(node.log)}`)
    }
    try {
      const [{ value }, beating] = await Promise.all([store.readRecord('node', node.id), store.beating([node.id])])
      if (value?.status === 'ready' && beating.has(node.id) && await also()) return
    } catch {
      // not reachable yet, or not allowed yet: keep polling until the deadline
    }
    if (Date.now() > deadline) {
      throw new MeshError('MESH_ERR_CLUSTER', `node ${node.name} did not become ready within ${ms} ms; see ${node.log}:\n${tail(node.log)}`)
    }
    await sleep(100)
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if it still runs; resolves once it is gone. */
export async function stopProcess (pid: number, marker: string, graceMs: number): Promise<boolean> {
  if (!isOurs(pid, marker)) return false
  try { process.kill(pid, 'SIGTERM') } catch { return false }
  const deadline = Date.now() + graceMs
  while (isOurs(pid, marker) && Date.now() < deadline) await sleep(100)
  if (isOurs(pid, marker)) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone meanwhile */ }
  }
  return true
}
