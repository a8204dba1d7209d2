/**
 * The /metrics page of a node: its MetricDefs rendered straight into the
 * Prometheus text format (version 0.0.4) as bytes, then prom-client's
 * registry (Node's process metrics) appended. Each label set keeps its
 * encoded line prefix (`name{labels,node="n"} `) per metric, so a sample
 * costs one copy of those bytes and its digits (byte-writer.ts).
 *
 * Incremental: per-route metrics are rendered a slice of routes at a time,
 * and the renderer yields to the event loop whenever it has worked for
 * `sliceMs` without a break, so a scrape at thousands of services never
 * holds the listeners up for longer than about that (bench/metrics.ts
 * measures both the total and the longest stretch).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Registry } from 'prom-client'
import type { MetricDef } from './collected'
import { ByteWriter } from './byte-writer'
import { escapeLabelValue, type LabelSet } from './label-set'
import type { ScrapeViews } from './scrape-view'

export interface MetricsPageOptions {
  /** Longest stretch of rendering between two yields to the event loop (ms). */
  sliceMs?: number
  /** Routes rendered between two looks at the clock. */
  routesPerSlice?: number
  /** Record each stretch's CPU time in `lastRender` (bench/metrics.ts); off on a node. */
  measure?: boolean
}

/** What the last render cost, when MetricsPageOptions.measure is set. */
export interface RenderCost { stretches: number, longestCpuMs: number }

const NO_PREFIX = Buffer.alloc(0)
/** Index of a sample name suffix in LabelSet.prefixes' arrays. */
function suffixIndex (suffix: string | undefined): number {
  return suffix === undefined ? 0 : suffix === '_bucket' ? 1 : suffix === '_sum' ? 2 : 3
}

export class MetricsPage {
  readonly contentType: string
  readonly #nodeLabel: string
  readonly #defs: readonly MetricDef[]
  /** Per metric: its key in LabelSet.prefixes (node and name: label sets are shared by pages of different nodes in one process). */
  readonly #keys: readonly string[]
  readonly #views: ScrapeViews | null
  readonly #registry: Registry
  readonly #sliceMs: number
  readonly #routesPerSlice: number
  /** Bytes of the last page: the next one is written into one buffer of about that size. */
  #lastSize = 0
  readonly #measure: boolean
  lastRender: RenderCost = { stretches: 0, longestCpuMs: 0 }

  /** `registry`: prom-client's (process and control metrics), rendered after the node's own. */
  constructor (node: string, defs: readonly MetricDef[], views: ScrapeViews | null, registry: Registry, options: MetricsPageOptions = {}) {
    this.#nodeLabel = `node="${escapeLabelValue(node)}"`
    this.#defs = defs
    this.#keys = defs.map((d) => `${node}\u0000${d.name}`)
    this.#views = views
    this.#registry = registry
    this.contentType = registry.contentType
    this.#sliceMs = options.sliceMs ?? 4
    this.#routesPerSlice = options.routesPerSlice ?? 10
    this.#measure = options.measure ?? false
  }

  /** The page as bytes. */
  async render (): Promise<Buffer> {
    const chunks = await this.renderChunks()
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
  }

  /** The page as chunks of bytes, in order. */
  async renderChunks (): Promise<Buffer[]> {
    const views = this.#views?.take() ?? []
    const node = this.#nodeLabel
    const w = new ByteWriter(this.#lastSize * 1.1)
    let name = ''
    let key = ''
    const emit = (labels: LabelSet, value: number, suffix?: string): void => {
      const i = suffixIndex(suffix)
      let bufs = labels.prefixBufs
      if (labels.prefixKey !== key || bufs === null) bufs = prefixesOf(labels, key)
      let prefix = bufs[i]
      if (prefix.length === 0) prefix = bufs[i] = Buffer.from(`${suffix === undefined ? name : name + suffix}{${labels.text === '' ? node : `${labels.text},${node}`}} `)
      w.bytes(prefix)
      w.value(value)
    }
    let since = performance.now()
    const cost: RenderCost = { stretches: 0, longestCpuMs: 0 }
    let cpu = this.#measure ? process.cpuUsage() : null
    const endStretch = (): void => {
      cost.stretches++
      if (cpu === null) return
      const used = process.cpuUsage(cpu)
      cost.longestCpuMs = Math.max(cost.longestCpuMs, (used.user + used.system) / 1000)
    }
    const maybeYield = async (): Promise<void> => {
      if (performance.now() - since < this.#sliceMs) return
      endStretch()
      await yieldToLoop()
      since = performance.now()
      if (cpu !== null) cpu = process.cpuUsage()
    }
    for (let d = 0; d < this.#defs.length; d++) {
      const def = this.#defs[d]
      name = def.name
      key = this.#keys[d]
      w.text(`# HELP ${name} ${escapeHelp(def.help)}\n# TYPE ${name} ${def.type}\n`)
      if (!def.perRoute || views.length <= this.#routesPerSlice) {
        def.collect(emit, views)
      } else {
        for (let i = 0; i < views.length; i += this.#routesPerSlice) {
          def.collect(emit, views.slice(i, i + this.#routesPerSlice))
          await maybeYield()
        }
      }
      await maybeYield()
    }
    w.text(await this.#registry.metrics())
    const chunks = w.finish()
    endStretch()
    this.lastRender = cost
    this.#lastSize = w.total
    return chunks
  }
}

/** The prefixes of `labels` for `key`, made its current ones (see LabelSet.prefixKey). */
function prefixesOf (labels: LabelSet, key: string): Buffer[] {
  if (labels.prefixBufs !== null) (labels.prefixes ??= new Map()).set(labels.prefixKey, labels.prefixBufs)
  let bufs = labels.prefixes?.get(key)
  if (bufs === undefined) bufs = [NO_PREFIX, NO_PREFIX, NO_PREFIX, NO_PREFIX]
  labels.prefixKey = key
  labels.prefixBufs = bufs
  return bufs
}

function escapeHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}
