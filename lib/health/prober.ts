/**
 * Active health checks for the endpoints this node owns (see ownership.ts).
 * Verdicts are written to the registry only on transitions, so every node's
 * table follows one prober per endpoint and probe traffic grows with
 * endpoints, not nodes x endpoints.
 *
 * Rise/fall: an endpoint without a verdict becomes healthy on its first
 * passing check (so new endpoints take traffic quickly) and unhealthy after
 * `fall` failures; afterwards `rise` passes or `fall` failures flip it.
 */
import type { RegistryFeed } from '../registry/feed'
import type { RegistryStore } from '../registry/store'
import { directSink, type ReportSink } from '../registry/report-sink'
import { canWriteRegistry } from '../registry/parts'
import type { HealthCheckSpec, HealthRecord, HealthStatus, TaskRecord } from '../registry/types'
import { SCHEMA_VERSION } from '../registry/types'
import { isRunning, tasksByService } from '../table/eligibility'
import { createLogger } from '../util/log'
import { describeRegistryError } from '../registry/errors'
import { ownerOf } from './ownership'
import { probe } from './probe'

const log = createLogger('health')

class Check {
  readonly taskId: string
  host: string
  port: number
  spec: HealthCheckSpec
  passes = 0
  failures = 0
  timer: NodeJS.Timeout | null = null

  constructor (task: TaskRecord, spec: HealthCheckSpec) {
    this.taskId = task.id
    this.host = task.host
    this.port = task.port
    this.spec = spec
  }
}

export class Prober {
  readonly #feed: RegistryFeed
  readonly #sink: ReportSink
  readonly #nodeId: string
  readonly #checks = new Map<string, Check>()
  readonly #onChange: () => void
  #stopped = false
  /** Checks run by this node (metric). */
  probes = 0

  constructor (feed: RegistryFeed, store: RegistryStore, nodeId: string, sink: ReportSink = directSink(store)) {
    this.#feed = feed
    this.#sink = sink
    this.#nodeId = nodeId
    this.#onChange = () => { this.#reconcile() }
    feed.on('change', this.#onChange)
    this.#reconcile()
  }

  #reconcile (): void {
    if (this.#stopped) return
    const state = this.#feed.state
    const wanted = new Set<string>()
    const byService = tasksByService(state)
    // A static endpoint's verdict is written directly: its prober is a live node allowed to write the registry.
    const writers = [...state.alive].filter((id) => canWriteRegistry(state.nodes.get(id)))
    for (const svc of state.services.values()) {
      if (svc.health == null) continue
      for (const task of byService.get(svc.id) ?? []) {
        if (!isRunning(task, state) || ownerOf(task, writers) !== this.#nodeId) continue
        wanted.add(task.id)
        const existing = this.#checks.get(task.id)
        if (existing !== undefined) {
          existing.host = task.host
          existing.port = task.port
          existing.spec = svc.health
          continue
        }
        const check = new Check(task, svc.health)
        this.#checks.set(task.id, check)
        this.#schedule(check, 0)
      }
    }
    for (const [id, check] of this.#checks) {
      if (wanted.has(id)) continue
      if (check.timer !== null) clearTimeout(check.timer)
      this.#checks.delete(id)
    }
  }

  #schedule (check: Check, delay: number): void {
    check.timer = setTimeout(() => {
      this.#run(check).catch((err: unknown) => { log.once(`run ${check.taskId}`, 'error', `health check of ${check.host}:${check.port} failed to run: ${(err as Error)?.stack ?? String(err)}`) })
    }, delay)
    check.timer.unref()
  }

  async #run (check: Check): Promise<void> {
    check.timer = null
    if (this.#stopped || this.#checks.get(check.taskId) !== check) return
    this.probes++
    const result = await probe(check.host, check.port, check.spec)
    if (this.#checks.get(check.taskId) !== check) return
    if (result.ok) { check.passes++; check.failures = 0 } else { check.failures++; check.passes = 0 }
    const current = this.#feed.state.health.get(check.taskId)?.status
    let next: HealthStatus | null = null
    if (result.ok && current !== 'healthy' && (current === undefined || check.passes >= check.spec.rise)) next = 'healthy'
    if (!result.ok && current !== 'unhealthy' && check.failures >= check.spec.fall) next = 'unhealthy'
    if (next !== null) await this.#write(check, next, result.detail)
    if (!this.#stopped && this.#checks.get(check.taskId) === check) this.#schedule(check, check.spec.interval)
  }

  async #write (check: Check, status: HealthStatus, detail: string): Promise<void> {
    const record: HealthRecord = { v: SCHEMA_VERSION, status, at: Date.now(), by: this.#nodeId, detail }
    try {
      await this.#sink.report([{ type: 'health', id: check.taskId, value: record }])
      log.info(`endpoint ${check.host}:${check.port} (${check.taskId.slice(0, 12)}) is ${status}: ${detail}`)
    } catch (err) {
      log.once(`write ${check.taskId}`, 'warn', `cannot record health of ${check.host}:${check.port}: ${describeRegistryError(err)}`)
    }
  }

  stop (): void {
    this.#stopped = true
    this.#feed.off('change', this.#onChange)
    for (const c of this.#checks.values()) if (c.timer !== null) clearTimeout(c.timer)
    this.#checks.clear()
  }
}
