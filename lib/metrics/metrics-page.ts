/**
 * The /metrics page of a node: its MetricDefs rendered straight into the
 * Prometheus text format (version 0.0.4) from cached label strings, then
 * prom-client's registry (Node's process metrics) appended.
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
import { escapeLabelValue, type LabelSet } from './label-set'
import type { RouteView, ScrapeViews } from './scrape-view'

export interface MetricsPageOptions {
  /** Longest stretch of rendering between two yields to the event loop (ms). */
  sliceMs?: number
  /** Routes rendered between two looks at the clock. */
  routesPerSlice?: number
}

export class MetricsPage {
  readonly contentType: string
  readonly #nodeLabel: string
  readonly #defs: readonly MetricDef[]
  readonly #views: ScrapeViews | null
  readonly #registry: Registry
  readonly #sliceMs: number
  readonly #routesPerSlice: number
  /** Per metric name: each label set's ready line prefix (`name{labels,node="n"} `) by suffix (none, _bucket, _sum, _count). */
  readonly #prefixes = new Map<string, WeakMap<LabelSet, string[]>>()

  /** `registry`: prom-client's (process and control metrics), rendered after the node's own. */
  constructor (node: string, defs: readonly MetricDef[], views: ScrapeViews | null, registry: Registry, options: MetricsPageOptions = {}) {
    this.#nodeLabel = `node="${escapeLabelValue(node)}"`
    this.#defs = defs
    this.#views = views
    this.#registry = registry
    this.contentType = registry.contentType
    this.#sliceMs = options.sliceMs ?? 4
    this.#routesPerSlice = options.routesPerSlice ?? 50
  }

  /** The page as bytes (slices are encoded as they are made, so no multi-megabyte string lives across the yields). */
  async render (): Promise<Buffer> {
    const views = this.#views?.take() ?? []
    const parts: Buffer[] = []
    const node = this.#nodeLabel
    let out = ''
    let name = ''
    let prefixes = this.#prefixes.get('')
    const emit = (labels: LabelSet, value: number, suffix?: string): void => {
      const key = suffix === undefined ? 0 : suffix === '_bucket' ? 1 : suffix === '_sum' ? 2 : 3
      let byLabels = (prefixes as WeakMap<LabelSet, string[]>).get(labels)
      if (byLabels === undefined) (prefixes as WeakMap<LabelSet, string[]>).set(labels, byLabels = ['', '', '', ''])
      let prefix = byLabels[key]
      if (prefix === '') prefix = byLabels[key] = `${suffix === undefined ? name : name + suffix}{${labels.text === '' ? node : `${labels.text},${node}`}} `
      out += prefix + formatValue(value) + '\n'
    }
    let since = performance.now()
    const maybeYield = async (): Promise<void> => {
      if (performance.now() - since < this.#sliceMs) return
      parts.push(Buffer.from(out))
      out = ''
      await yieldToLoop()
      since = performance.now()
    }
    for (const def of this.#defs) {
      name = def.name
      prefixes = this.#prefixes.get(name)
      if (prefixes === undefined) this.#prefixes.set(name, prefixes = new WeakMap())
      out += `# HELP ${name} ${escapeHelp(def.help)}\n# TYPE ${name} ${def.type}\n`
      if (!def.perRoute || views.length <= this.#routesPerSlice) {
        def.collect(emit, views)
      } else {
        for (let i = 0; i < views.length; i += this.#routesPerSlice) {
          def.collect(emit, slice(views, i, this.#routesPerSlice))
          await maybeYield()
        }
      }
      await maybeYield()
    }
    parts.push(Buffer.from(out))
    parts.push(Buffer.from(await this.#registry.metrics()))
    return Buffer.concat(parts)
  }
}

function slice (views: readonly RouteView[], from: number, n: number): readonly RouteView[] {
  return views.slice(from, from + n)
}

function escapeHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue (v: number): string {
  if (Number.isFinite(v)) return String(v)
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'
}
