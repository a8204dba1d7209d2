/**
 * Converge progress for `service create/update/scale/rollback` without
 * --detach, drawn like docker's: `overall progress: 3 out of 5 tasks`, a bar
 * per slot (per node in global mode), then `verify: Service converged` once
 * the service stayed converged for its update monitor period. Redrawn in
 * place on a TTY, plain lines (only what changed) otherwise.
 *
 * Converged: as many tasks of the current spec version desired running and
 * running as the service wants, and no task of an older version still
 * desired running. Fails (MESH_ERR_NOT_CONVERGED) when the scheduler sets
 * updateState to `paused` or `rollback_*`, or at the timeout.
 */
import { MeshError } from '../errors'
import type { RegistryStore, Snapshot } from '../registry/store'
import type { ServiceSpec, TaskRecord, TaskState } from '../registry/types'
import { formatDuration } from '../util/duration'

export const POLL_INTERVAL = 250
const BAR = 50
const STAGES: Partial<Record<TaskState, number>> = { new: 1, assigned: 2, preparing: 3, starting: 4, running: 5 }

export interface ProgressOptions {
  store: RegistryStore
  serviceId: string
  timeout: number
  out: NodeJS.WriteStream | NodeJS.WritableStream
  /** updateState right after our write: only a change away from it to paused/rollback_* fails. */
  startState: string
  /** Stops early (Ctrl-C): the operation continues in the background. */
  signal?: AbortSignal
}

export interface Frame {
  overall: string
  rows: Array<{ key: string, text: string }>
  verify: string
}

function bar (state: TaskState): string {
  const stage = STAGES[state] ?? 0
  const n = Math.round((BAR * stage) / 5)
  if (n === 0) return `[${' '.repeat(BAR)}]`
  return `[${'='.repeat(n - 1)}>${' '.repeat(BAR - n)}]`
}

function newest (tasks: TaskRecord[]): TaskRecord | undefined {
  let best: TaskRecord | undefined
  for (const t of tasks) if (best === undefined || t.createdAt > best.createdAt) best = t
  return best
}

function row (label: string, t: TaskRecord | undefined): string {
  if (t === undefined) return `${label}: ${'pending'.padEnd(9)} ${bar('orphaned')}`
  const failed = t.state === 'failed' || t.state === 'rejected'
  return `${label}: ${t.state.padEnd(9)} ${bar(t.state)}${failed && t.error !== '' ? ` ${t.error}` : ''}`
}

export interface Count { want: number, running: number, converged: boolean }

/** Counts what `spec` wants against what runs in `snap`; fills `frame` rows. */
export function measure (snap: Snapshot, spec: ServiceSpec, frame: Frame): Count {
  const tasks: TaskRecord[] = []
  for (const t of snap.tasks.values()) if (t.serviceId === spec.id && !t.static) tasks.push(t)
  const current = tasks.filter((t) => t.desired === 'running' && t.specVersion === spec.version)
  const stale = tasks.filter((t) => t.desired === 'running' && t.specVersion !== spec.version)
  const running = current.filter((t) => t.state === 'running')
  frame.rows = []
  let want: number
  if (spec.mode === 'global') {
    const nodes = [...snap.nodes.values()].filter((n) => snap.alive.has(n.id) && n.availability === 'active')
      .sort((a, b) => a.name.localeCompare(b.name))
    want = nodes.length
    for (const n of nodes) frame.rows.push({ key: n.id, text: row(n.name, newest(current.filter((t) => t.node === n.id))) })
  } else {
    want = spec.replicas
    for (let slot = 1; slot <= want; slot++) {
      const mine = tasks.filter((t) => t.slot === slot && t.desired === 'running')
      const t = newest(mine.filter((x) => x.specVersion === spec.version)) ?? newest(mine)
      frame.rows.push({ key: String(slot), text: row(`${slot}/${want}`, t) })
    }
  }
  frame.overall = `overall progress: ${running.length} out of ${want} tasks`
  return { want, running: running.length, converged: running.length === want && current.length === want && stale.length === 0 }
}

function findById (snap: Snapshot, id: string): ServiceSpec | undefined {
  for (const s of snap.services.values()) if (s.id === id) return s
  return undefined
}

class Painter {
  readonly #out: NodeJS.WritableStream
  readonly #tty: boolean
  #drawn = 0
  #printed = new Map<string, string>()

  constructor (out: NodeJS.WritableStream) {
    this.#out = out
    this.#tty = (out as NodeJS.WriteStream).isTTY === true
  }

  draw (f: Frame): void {
    const lines: Array<[string, string]> = [['overall', f.overall],
      ...f.rows.map((r): [string, string] => [`row:${r.key}`, r.text])]
    if (f.verify !== '') lines.push(['verify', f.verify])
    if (this.#tty) {
      let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : ''
      for (const [, l] of lines) text += `\x1b[2K${l}\n`
      // Lines left over from a longer previous frame.
      for (let i = lines.length; i < this.#drawn; i++) text += '\x1b[2K\n'
      if (this.#drawn > lines.length) text += `\x1b[${this.#drawn - lines.length}A`
      this.#out.write(text)
      this.#drawn = lines.length
      return
    }
    let text = ''
    for (const [key, l] of lines) {
      if (this.#printed.get(key) === l) continue
      this.#printed.set(key, l)
      text += `${l}\n`
    }
    if (text !== '') this.#out.write(text)
  }
}

/** Watches until converged (resolves true), detached by the signal (false), or throws. */
export async function watchConvergence (o: ProgressOptions): Promise<boolean> {
  const painter = new Painter(o.out)
  const deadline = Date.now() + o.timeout
  const frame: Frame = { overall: '', rows: [], verify: '' }
  let since = 0
  for (;;) {
    if (o.signal?.aborted === true) return false
    const snap = await o.store.snapshot()
    const spec = findById(snap, o.serviceId)
    if (spec === undefined) throw new MeshError('MESH_ERR_SERVICE_NOT_FOUND', 'the service was removed while converging')
    const count = measure(snap, spec, frame)
    const state = spec.updateState
    if (state !== o.startState && (state === 'paused' || state.startsWith('rollback_'))) {
      frame.verify = ''
      painter.draw(frame)
      const what = state === 'paused' ? 'update paused' : `rollback: ${state.slice('rollback_'.length)}`
      throw new MeshError('MESH_ERR_NOT_CONVERGED',
        `service ${spec.name}: ${spec.updateMessage !== '' ? spec.updateMessage : what} (see mesh service ps ${spec.name})`)
    }
    const now = Date.now()
    if (count.converged) {
      if (since === 0) since = now
      const monitor = spec.update.monitor
      if (now - since >= monitor) {
        frame.verify = 'verify: Service converged'
        painter.draw(frame)
        return true
      }
      frame.verify = `verify: Waiting ${Math.ceil((monitor - (now - since)) / 1000)} seconds to verify that tasks are stable...`
    } else {
      since = 0
      frame.verify = ''
    }
    painter.draw(frame)
    if (now > deadline) {
      throw new MeshError('MESH_ERR_NOT_CONVERGED',
        `service ${spec.name} did not converge within ${formatDuration(o.timeout)} (${count.running} of ${count.want} tasks running); ` +
        `it keeps converging in the background: see mesh service ps ${spec.name}`)
    }
    await new Promise<void>((resolve) => {
      const onAbort = (): void => { clearTimeout(timer); resolve() }
      const timer = setTimeout(() => { o.signal?.removeEventListener('abort', onAbort); resolve() }, POLL_INTERVAL)
      o.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/**
 * The CLI side: watches with Ctrl-C meaning "stop watching", like docker's
 * "Operation continuing in background." Returns the exit code.
 */
export async function showProgress (store: RegistryStore, spec: ServiceSpec, timeout: number, startState = spec.updateState): Promise<number> {
  const ac = new AbortController()
  const onInt = (): void => { ac.abort() }
  process.once('SIGINT', onInt)
  try {
    const done = await watchConvergence({ store, serviceId: spec.id, timeout, out: process.stdout, startState, signal: ac.signal })
    if (!done) process.stdout.write(`Operation continuing in background.\nUse \`mesh service ps ${spec.name}\` to check progress.\n`)
    return 0
  } finally {
    process.removeListener('SIGINT', onInt)
  }
}
