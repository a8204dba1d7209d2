/**
 * A private redis-server per test file on an ephemeral port, so a test can
 * stop and restart it. Torn down with the test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { RegistryStore } from '../../lib/registry/store'
import { freePort } from './ports'
import { waitFor } from './wait'

export class TestRedis {
  readonly port: number
  readonly dir: string
  #proc: ChildProcess | null = null

  constructor (port: number) {
    this.port = port
    this.dir = mkdtempSync(join(tmpdir(), 'mesh-redis-'))
  }

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  /**
   * A new redis-server holding a new cluster (its epoch created, as `mesh up`
   * does), unless `cluster: false` (a bare Redis no cluster was created in).
   */
  static async start ({ cluster = true }: { cluster?: boolean } = {}): Promise<TestRedis> {
    const r = new TestRedis(await freePort())
    await r.start()
    if (cluster) await r.createCluster()
    return r
  }

  /** Cluster creation (RegistryStore.createCluster) under `prefix`. */
  async createCluster (prefix = 'mesh:'): Promise<string> {
    const c = this.client()
    try {
      return (await new RegistryStore(c, prefix).createCluster()).epoch
    } finally {
      c.disconnect()
    }
  }

  async start (): Promise<void> {
    this.#proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--loglevel', 'warning'], { stdio: 'ignore' })
    await waitFor(async () => {
      const c = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      c.on('error', () => {})
      try {
        await c.connect()
        return (await c.ping()) === 'PONG'
      } finally {
        c.disconnect()
      }
    }, { what: `redis-server on port ${this.port}` })
  }

  /** Stops the server (its data is gone: no persistence, like Redis restarted empty; start() brings it back empty, without an epoch). */
  async stop (): Promise<void> {
    const proc = this.#proc
    this.#proc = null
    if (proc === null || proc.exitCode !== null) return
    await new Promise<void>((resolve) => {
      proc.once('exit', () => { resolve() })
      proc.kill('SIGKILL')
    })
  }

  client (): Redis {
    const c = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1 })
    c.on('error', () => {})
    return c
  }

  async close (): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
