/**
 * Converge progress for `service create/update/scale/rollback` without
 * --detach, drawn like docker's: `overall progress: 3 out of 5 tasks`, a bar
 * per slot (per node in global mode; none above 20, as docker), then
 * `verify: Service converged` once the service stayed converged for its
 * update monitor period. Redrawn in place on a TTY, plain lines (only what
 * changed) otherwise; colour only on a TTY without NO_COLOR (terminal.ts).
 *
 * What is counted is what the service wants now: slots 1..replicas (tasks
 * in slots above it are being removed: a scale-down shows 3 out of 3, not
 * 5 out of 3), and only tasks of the current spec version (during an
 * update a slot shows its new task's progress, blank until it exists, as
 * docker does). Converged: every wanted slot (node) runs a task of the
 * current version and nothing else is desired running.
 *
 * A task of the current version that fails shows its error in its row; if
 * its slot is still not running one update-monitor period after the
 * failure was seen, the watch fails (MESH_ERR_NOT_CONVERGED) instead of
 * waiting for the timeout. It fails too when the scheduler sets updateState
 * to `paused` or `rollback_*`, or at the timeout. A registry that goes away
 * meanwhile is waited for (registry-session.ts retryUnreachable).
 */
import { Writable } from 'node:stream'
import { MeshError } from '../errors'
import type { Snapshot } from '../registry/store'
import type { ServiceSpec, TaskRecord, TaskState } from '../registry/types'
import { formatDuration } from '../util/duration'
import { retryUnreachable, type Session } from './registry-session'
import type { Wait } from './service-options'
import { isTty, red, type Paint } from './terminal'

export const POLL_INTERVAL = 250
/** docker's bar: 50 `=` at 100 %, then `>`. */
const BAR = 50
/** docker's maxProgressBars: above it only the overall line. */
export const MAX_BARS = 20
/** docker's stateToProgress (new 1 ... running 9 of 9); ours map onto it. */
const STAGES: Partial<Record<TaskState, number>> = { new: 1, assigned: 4, preparing: 6, starting: 8, running: 9 }
const STAGE_MAX = 9
/** docker's truncError: one line of at most 75 characters. */
const ERROR_WIDTH = 75

export interface ProgressOptions {
  session: Session
  serviceId: string
  timeout: number
  out: NodeJS.WriteStream | NodeJS.WritableStream
  /** Where registry outage lines go. */
  err?: NodeJS.WritableStream
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

/** `[====>   ]` for a task in `state`, docker's width. */
export function bar (state: TaskState): string {
  const stage = STAGES[state]
  if (stage === undefined) return ''
  const n = Math.min(BAR, Math.floor(Math.floor((stage / STAGE_MAX) * 100) / 2))
  return `[${'='.repeat(n)}>${' '.repeat(BAR - n)}]`
}

function truncError (text: string): string {
  const one = text.replaceAll('\n', ' ')
  const chars = [...one]
  return chars.length > ERROR_WIDTH ? `${chars.slice(0, ERROR_WIDTH - 1).join('')}…` : one
}

const FAILED = (s: TaskState): boolean => s === 'failed' || s === 'rejected'

function newest (tasks: TaskRecord[]): TaskRecord | undefined {
  let best: TaskRecord | undefined
  for (const t of tasks) if (best === undefined || t.createdAt > best.createdAt) best = t
  return best
}

/** One slot's (or node's) state: what its row shows and whether it counts. */
interface Slot { key: string, label: string, task: TaskRecord | undefined, failure: TaskRecord | undefined, running: boolean }

function slotOf (key: string, label: string, mine: TaskRecord[], spec: ServiceSpec): Slot {
  const current = mine.filter((t) => t.specVersion === spec.version)
  const live = current.filter((t) => t.desired === 'running')
  const task = newest(live)
  // A failure of this update (or creation, or scale): a task created since the spec was last written.
  const failure = newest(current.filter((t) => FAILED(t.state) && t.createdAt >= spec.updatedAt))
  return { key, label, task, failure, running: task?.state === 'running' }
}

function rowText (s: Slot, paint: Paint): string {
  const t = s.task
  // Until the slot runs again, its last failure says more than the replacement waiting out its back-off.
  if (!s.running && s.failure !== undefined) {
    return `${s.label}: ${paint(truncError(s.failure.error !== '' ? s.failure.error : s.failure.state))}`
  }
  if (t === undefined) return `${s.label}: `
  if (FAILED(t.state)) return `${s.label}: ${paint(truncError(t.error !== '' ? t.error : t.state))}`
  return `${s.label}: ${t.state.padEnd(9)} ${bar(t.state)}`
}

export interface Count { want: number, running: number, converged: boolean, failing: Slot[] }

/** Counts what `spec` wants against what runs in `snap`; fills `frame` rows. */
export function measure (snap: Snapshot, spec: ServiceSpec, frame: Frame, paint: Paint = (x) => x): Count {
  const tasks: TaskRecord[] = []
  for (const t of snap.tasks.values()) if (t.serviceId === spec.id && !t.static) tasks.push(t)
  const slots: Slot[] = []
  let want: number
  if (spec.mode === 'global') {
    const nodes = [...snap.nodes.values()].filter((n) => snap.alive.has(n.id) && n.availability === 'active')
      .sort((a, b) => a.name.localeCompare(b.name))
    want = nodes.length
    for (const n of nodes) slots.push(slotOf(n.id, n.name, tasks.filter((t) => t.node === n.id), spec))
  } else {
    want = spec.replicas
    for (let slot = 1; slot <= want; slot++) slots.push(slotOf(String(slot), `${slot}/${want}`, tasks.filter((t) => t.slot === slot), spec))
  }
  const running = slots.filter((s) => s.running).length
  const counted = new Set(slots.map((s) => s.task?.id))
  // Anything else desired running (an old version, a slot above replicas, a node no longer eligible) is still to go.
  const extra = tasks.some((t) => t.desired === 'running' && !counted.has(t.id))
  frame.rows = want <= MAX_BARS ? slots.map((s) => ({ key: s.key, text: rowText(s, paint).trimEnd() })) : []
  frame.overall = `overall progress: ${running} out of ${want} tasks`
  return { want, running, converged: running === want && !extra, failing: slots.filter((s) => !s.running && s.failure !== undefined) }
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
    this.#tty = isTty(out)
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

function taskLabel (spec: ServiceSpec, t: TaskRecord): string {
  return spec.mode === 'global' ? `${spec.name}.${t.node.slice(0, 12)}` : `${spec.name}.${t.slot}`
}

/** Watches until converged (resolves true), detached by the signal (false), or throws. */
export async function watchConvergence (o: ProgressOptions): Promise<boolean> {
  const painter = new Painter(o.out)
  const paint = red(o.out)
  const deadline = Date.now() + o.timeout
  const frame: Frame = { overall: '', rows: [], verify: '' }
  let since = 0
  /** When a failing slot was first seen (this CLI's clock), by slot key. */
  const failingSince = new Map<string, number>()
  for (;;) {
    if (o.signal?.aborted === true) return false
    const snap = await retryUnreachable(o.session, async () => await o.session.store.snapshot(), { until: deadline, err: o.err, signal: o.signal })
    const spec = findById(snap, o.serviceId)
    if (spec === undefined) throw new MeshError('MESH_ERR_SERVICE_NOT_FOUND', 'the service was removed while converging')
    const count = measure(snap, spec, frame, paint)
    const state = spec.updateState
    if (state !== o.startState && (state === 'paused' || state.startsWith('rollback_'))) {
      frame.verify = ''
      painter.draw(frame)
      const what = state === 'paused' ? 'update paused' : `rollback: ${state.slice('rollback_'.length)}`
      throw new MeshError('MESH_ERR_NOT_CONVERGED',
        `service ${spec.name}: ${spec.updateMessage !== '' ? spec.updateMessage : what} (see mesh service ps ${spec.name})`)
    }
    const now = Date.now()
    const monitor = spec.update.monitor
    for (const key of failingSince.keys()) if (!count.failing.some((s) => s.key === key)) failingSince.delete(key)
    for (const s of count.failing) {
      const first = failingSince.get(s.key) ?? now
      failingSince.set(s.key, first)
      if (now - first >= monitor && s.failure !== undefined) {
        frame.verify = ''
        painter.draw(frame)
        const f = s.failure
        throw new MeshError('MESH_ERR_NOT_CONVERGED',
          `service ${spec.name}: task ${taskLabel(spec, f)} (${f.id.slice(0, 12)}) failed: ${f.error !== '' ? f.error : f.state}; ` +
          `not running ${formatDuration(monitor)} later (the update monitor), the scheduler keeps retrying it (see mesh service ps ${spec.name})`)
      }
    }
    if (count.converged) {
      if (since === 0) since = now
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
export async function showProgress (session: Session, spec: ServiceSpec, wait: Wait, startState = spec.updateState): Promise<number> {
  const ac = new AbortController()
  const onInt = (): void => { ac.abort() }
  process.once('SIGINT', onInt)
  try {
    const out = wait.quiet ? new Writable({ write: (_chunk, _enc, done) => { done() } }) : process.stdout
    const done = await watchConvergence({ session, serviceId: spec.id, timeout: wait.timeout, out, startState, signal: ac.signal })
    if (!done) process.stdout.write(`Operation continuing in background.\nUse \`mesh service ps ${spec.name}\` to check progress.\n`)
    return 0
  } finally {
    process.removeListener('SIGINT', onInt)
  }
}
