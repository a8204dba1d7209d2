/**
 * State reports from an agent. The scheduler owns a task's desired part
 * (TaskSpec: desired state, node, slot, spec version); the agent owns its
 * actual part (TaskStatus: state, host, port, pid, error, exit code), stored
 * apart, so a report can never undo a desired-state change and needs no
 * compare-and-set. The agent decides each report from the task as it last
 * reported it (its own reports may not have come back through the feed
 * yet) and the desired part from the feed, and hands it to the node's report
 * sink (registry/report-sink.ts: direct, or folded in by the leader).
 */
import type { RegistryFeed } from '../registry/feed'
import { mergeTask, taskSpecOf, taskStatusOf } from '../registry/parts'
import type { ReportSink } from '../registry/report-sink'
import type { TaskRecord } from '../registry/types'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Serialises the reports of each task (so they land in the order they were
 * made) and retries through a Redis outage until flush() says to give up.
 */
export class Reporter {
  readonly #sink: ReportSink
  readonly #feed: RegistryFeed
  readonly #chains = new Map<string, Promise<unknown>>()
  /** Each task as this agent last reported it. */
  readonly #last = new Map<string, TaskRecord>()
  readonly #onError: (err: unknown) => void
  #giveUp = false

  constructor (sink: ReportSink, feed: RegistryFeed, onError: (err: unknown) => void) {
    this.#sink = sink
    this.#feed = feed
    this.#onError = onError
  }

  /** The task as it stands for this agent: desired part from the feed, actual part as last reported (null when it is gone). */
  current (id: string): TaskRecord | null {
    const viewed = this.#feed.state.tasks.get(id)
    if (viewed === undefined) {
      this.#last.delete(id)
      return null
    }
    const last = this.#last.get(id)
    return last === undefined ? viewed : mergeTask(taskSpecOf(viewed), taskStatusOf(last))
  }

  /**
   * Reports what `change` makes of the task's current state (the fields to
   * set, or null for nothing to report, e.g. the task already moved past).
   */
  report (id: string, change: (current: TaskRecord) => Partial<TaskRecord> | null): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve()
    const next = prev.then(async () => { await this.#attempt(id, change) })
    const tail = next.catch(() => {})
    this.#chains.set(id, tail)
    void tail.then(() => { if (this.#chains.get(id) === tail) this.#chains.delete(id) })
    return tail
  }

  /** Records a report written elsewhere (the leave write) as the task's last. */
  noteReported (task: TaskRecord): void {
    this.#last.set(task.id, task)
  }

  async #attempt (id: string, change: (current: TaskRecord) => Partial<TaskRecord> | null): Promise<void> {
    let delay = 100
    for (;;) {
      const current = this.current(id)
      if (current === null) return
      const fields = change(current)
      if (fields === null) return
      const next: TaskRecord = { ...current, ...fields }
      try {
        await this.#sink.report([{ type: 'taskStatus', id, value: taskStatusOf(next) }])
        this.#last.set(id, next)
        return
      } catch (err) {
        this.#onError(err)
        if (this.#giveUp) return
        await sleep(delay)
        delay = Math.min(delay * 2, 2000)
      }
    }
  }

  /** Waits for pending reports, at most `ms`; later failures are dropped. */
  async flush (ms: number): Promise<void> {
    const all = Promise.all([...this.#chains.values()])
    await Promise.race([all, sleep(ms)])
    this.#giveUp = true
  }
}
