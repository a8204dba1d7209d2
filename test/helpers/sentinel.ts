/**
 * A replicated Redis as the README recommends it: one master, replicas and
 * Sentinels (Debian's redis-server and redis-sentinel; `redis-server FILE
 * --sentinel` when the latter is missing), all on 127.0.0.1, on ports free
 * when they start, each in a temp dir of its own, killed by pid and removed
 * with the test. Sentinels see a master down after `downAfterMs` (1 s here:
 * a failover takes about 2-3 s on this machine).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { freePort } from './ports'
import { waitFor } from './wait'

export interface SentinelSetOptions {
  replicas?: number
  sentinels?: number
  /** The master's name the sentinels monitor (the URL's /MASTER). */
  master?: string
  downAfterMs?: number
  /** requirepass/masterauth of the servers (and the sentinels' auth-pass); '' = none. */
  password?: string
  /** Where each replica replicates from: the master's port unless a test puts a relay between them. */
  replicaUpstream?: (masterPort: number, replica: number) => Promise<number>
  /** Every server and sentinel on TLS only (clients must show a certificate the CA signed): the rediss+sentinel:// form. */
  tls?: SentinelTls
}

export interface SentinelTls { ca: string, cert: string, key: string, clientCert: string, clientKey: string }

export interface ServerProc { port: number, dir: string, proc: ChildProcess }

const HAS_SENTINEL_BINARY = spawnSync('sh', ['-c', 'command -v redis-sentinel'], { stdio: 'ignore' }).status === 0

export class SentinelSet {
  readonly master: string
  readonly password: string
  readonly servers: ServerProc[] = []
  readonly sentinels: ServerProc[] = []
  readonly tls: SentinelTls | null
  readonly #root: string

  private constructor (master: string, password: string, tls: SentinelTls | null) {
    this.master = master
    this.password = password
    this.tls = tls
    this.#root = mkdtempSync(join(tmpdir(), 'mesh-sentinel-'))
  }

  static async start (o: SentinelSetOptions = {}): Promise<SentinelSet> {
    const set = new SentinelSet(o.master ?? 'mesh', o.password ?? '', o.tls ?? null)
    try {
      await set.#start(o)
    } catch (err) {
      await set.close()
      throw err
    }
    return set
  }

  /** redis+sentinel://[:password@]127.0.0.1:p1,.../MASTER (rediss+sentinel:// with TLS) */
  get url (): string {
    const auth = this.password === '' ? '' : `:${encodeURIComponent(this.password)}@`
    return `${this.tls === null ? 'redis' : 'rediss'}+sentinel://${auth}${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${this.master}`
  }

  async #start (o: SentinelSetOptions): Promise<void> {
    const replicas = o.replicas ?? 2
    const auth = this.password === '' ? [] : ['--requirepass', this.password, '--masterauth', this.password]
    const master = await this.#server(auth)
    await this.#ready(master.port)
    for (let i = 0; i < replicas; i++) {
      const upstream = o.replicaUpstream === undefined ? master.port : await o.replicaUpstream(master.port, i)
      await this.#ready((await this.#server([...auth, '--replicaof', '127.0.0.1', String(upstream)])).port)
    }
    await waitFor(async () => (await this.#role(master.port)).replicas === replicas, { timeout: 15_000, what: `${replicas} replicas online` })
    const count = o.sentinels ?? 3
    const quorum = Math.floor(count / 2) + 1
    for (let i = 0; i < count; i++) {
      const port = await freePort()
      const dir = mkdtempSync(join(this.#root, 'sentinel-'))
      const file = join(dir, 'sentinel.conf')
      const tls = this.tls === null
        ? [`port ${port}`]
        : ['port 0', `tls-port ${port}`, `tls-cert-file ${this.tls.cert}`, `tls-key-file ${this.tls.key}`, `tls-ca-cert-file ${this.tls.ca}`, 'tls-replication yes', 'tls-auth-clients yes']
      writeFileSync(file, [
        ...tls, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${this.master} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${this.master} ${o.downAfterMs ?? 1000}`,
        // Also bounds a failed election: the next sentinel tries again within it.
        `sentinel failover-timeout ${this.master} 3000`,
        ...(this.password === '' ? [] : [`sentinel auth-pass ${this.master} ${this.password}`]),
        ''
      ].join('\n'))
      const args = HAS_SENTINEL_BINARY ? [file] : [file, '--sentinel']
      const proc = spawn(HAS_SENTINEL_BINARY ? 'redis-sentinel' : 'redis-server', [...args, '--loglevel', 'warning'], { stdio: 'ignore' })
      this.sentinels.push({ port, dir, proc })
    }
    // Every sentinel knows the others and the replicas: a failover can be agreed on.
    for (const s of this.sentinels) {
      await waitFor(async () => await this.#sentinelReady(s.port, count - 1, replicas), { timeout: 20_000, what: `sentinel ${s.port} seeing ${count - 1} sentinels and ${replicas} replicas` })
    }
  }

  async #server (extra: string[]): Promise<ServerProc> {
    const port = await freePort()
    const dir = mkdtempSync(join(this.#root, 'redis-'))
    const listen = this.tls === null
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', this.tls.cert, '--tls-key-file', this.tls.key, '--tls-ca-cert-file', this.tls.ca,
          '--tls-replication', 'yes', '--tls-auth-clients', 'yes']
    const proc = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--loglevel', 'warning', ...extra], { stdio: 'ignore' })
    const s = { port, dir, proc }
    this.servers.push(s)
    return s
  }

  /** A plain connection to one process (a server, or a sentinel). */
  client (port: number, password = this.password): Redis {
    const tls = this.tls === null ? undefined : { ca: readFileSync(this.tls.ca), cert: readFileSync(this.tls.clientCert), key: readFileSync(this.tls.clientKey) }
    const c = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, password: password === '' ? undefined : password, tls })
    c.on('error', () => {})
    return c
  }

  async #ready (port: number): Promise<void> {
    await waitFor(async () => await this.#with(port, this.password, async (c) => (await c.ping()) === 'PONG'), { what: `redis-server on ${port}` })
  }

  async #with<T> (port: number, password: string, fn: (c: Redis) => Promise<T>): Promise<T> {
    const c = this.client(port, password)
    try {
      await c.connect()
      return await fn(c)
    } finally {
      c.disconnect()
    }
  }

  async #role (port: number): Promise<{ role: string, replicas: number }> {
    return await this.#with(port, this.password, async (c) => {
      const r = await c.role() as [string, number, Array<unknown>]
      return { role: r[0], replicas: r[0] === 'master' ? r[2].length : 0 }
    })
  }

  async #sentinelReady (port: number, others: number, replicas: number): Promise<boolean> {
    return await this.#with(port, '', async (c) => {
      const flat = await c.call('SENTINEL', 'MASTER', this.master) as string[]
      const info = new Map<string, string>()
      for (let i = 0; i < flat.length; i += 2) info.set(flat[i], flat[i + 1])
      return Number(info.get('num-other-sentinels')) === others && Number(info.get('num-slaves')) === replicas
    })
  }

  /** The port of the master as the first sentinel that answers names it. */
  async masterPort (): Promise<number> {
    for (const s of this.sentinels) {
      try {
        const addr = await this.#with(s.port, '', async (c) => await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.master) as [string, string] | null)
        if (addr !== null) return Number(addr[1])
      } catch {
        // that sentinel is down: ask the next
      }
    }
    throw new Error('no sentinel answered where the master is')
  }

  /** Replicas the server on `port` has online (ROLE). */
  async replicasOf (port: number): Promise<number> {
    return (await this.#role(port)).replicas
  }

  serverOn (port: number): ServerProc {
    const s = this.servers.find((x) => x.port === port)
    if (s === undefined) throw new Error(`no server of this set on port ${port}`)
    return s
  }

  /** `kill -9` of the process on `port`; resolves once it is gone. */
  async kill (port: number): Promise<void> {
    const { proc } = this.serverOn(port)
    if (proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((resolve) => {
      proc.once('exit', () => { resolve() })
      proc.kill('SIGKILL')
    })
  }

  async close (): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map(async ({ proc }) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      await new Promise<void>((resolve) => {
        proc.once('exit', () => { resolve() })
        proc.kill('SIGKILL')
      })
    }))
    rmSync(this.#root, { recursive: true, force: true })
  }
}
