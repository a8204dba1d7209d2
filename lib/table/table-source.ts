/**
 * Turns registry changes into table swaps: on every feed 'change' it builds a
 * new snapshot and swaps it whole; listeners pick it up through 'swap'.
 * Records propagation time (registry write -> table served).
 */
import { EventEmitter } from 'node:events'
import type { RegistryFeed } from '../registry/feed'
import { FixedHistogram } from '../metrics/histogram'
import { RoutingTable } from './routing-table'
import type { TableBuilder } from './table-builder'

export const PROPAGATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export class TableSource extends EventEmitter {
  #current: RoutingTable = RoutingTable.empty()
  readonly builder: TableBuilder
  readonly #feed: RegistryFeed
  /** Seconds from a registry write to its table being served. */
  readonly propagation = new FixedHistogram(PROPAGATION_BUCKETS)
  /** Seconds a rebuild took. */
  readonly rebuild = new FixedHistogram([0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1])
  readonly #onChange: (reason: string, writtenAt: number | null) => void

  constructor (feed: RegistryFeed, builder: TableBuilder) {
    super()
    this.#feed = feed
    this.builder = builder
    this.#onChange = (reason, writtenAt) => { this.refresh(reason, writtenAt) }
    feed.on('change', this.#onChange)
  }

  current (): RoutingTable {
    return this.#current
  }

  refresh (reason = 'manual', writtenAt: number | null = null): void {
    const t0 = process.hrtime.bigint()
    const table = this.builder.build(this.#feed.state)
    this.#current = table
    this.rebuild.observe(Number(process.hrtime.bigint() - t0) / 1e9)
    this.emit('swap', table, reason)
    if (writtenAt !== null) this.propagation.observe(Math.max(0, Date.now() - writtenAt) / 1000)
  }

  async close (): Promise<void> {
    this.#feed.off('change', this.#onChange)
    await this.builder.close()
  }
}
