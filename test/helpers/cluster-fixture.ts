/**
 * A control-plane test cluster in one process: a private redis-server, and
 * nodes that each have their own connections, feed, node record, heartbeat,
 * agent and (on managers) scheduler, exactly as a node daemon wires them.
 * Used by test/scheduler and test/agent (which share it for lack of a
 * common fixture in test/helpers that this area owns).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import type { Test } from 'tap'
import { loadConfig } from '../../lib/config/load'
import type { Config } from '../../lib/config/schema'
import type { NodeContext } from '../../lib/node/context'
import { createRedis } from '../../lib/registry/client'
import { RegistryFeed } from '../../lib/registry/feed'
import { nodeIdFor } from '../../lib/registry/ids'
import { RegistryStore } from '../../lib/registry/store'
import { SCHEMA_VERSION, type NodeRecord, type ServiceSpec, type TaskRecord } from '../../lib/registry/types'
import { newId } from '../../lib/util/ids'
import { startAgent, type Agent } from '../../lib/agent/agent'
import { startScheduler, type Scheduler } from '../../lib/scheduler/scheduler'
import { TestRedis } from './redis'
import { loopback } from './ports'
import { waitFor } from './wait'

/** Fast timings so reschedules, failovers and updates take well under a second or two. */
export const FAST: Record<string, string> = {
  'scheduler.reconcileInterval': '200ms',
  'scheduler.leaseTtl': '1s',
  'registry.livenessInterval': '100ms',
  'registry.blockTimeout': '1s',
  'node.heartbeatInterval': '200ms',
  'node.heartbeatTtl': '1s',
  'tasks.drainDelay': '0',
  'tasks.restartDelay': '100ms',
  'tasks.restartMaxDelay': '1s',
  'tasks.portRange': '30000-39999'
}

/**
 * A task program: an HTTP server on $MESH_TASK_HOST:$PORT answering
 * `<MESH_TASK_NAME> <VERSION>` (or its env as JSON on /env); logs a line at
 * start and per request; exits on SIGTERM. CRASH_AFTER=ms makes it exit 3.
 */
export const SERVER = `
const http = require('http')
const e = process.env
const srv = http.createServer((req, res) => {
  console.log('request ' + req.url + ' on ' + e.MESH_TASK_NAME)
  if (req.url === '/env') return res.end(JSON.stringify(e))
  res.end(e.MESH_TASK_NAME + ' ' + (e.VERSION || '') + '\\n')
})
srv.listen(Number(e.PORT), e.MESH_TASK_HOST, () => { console.log('listening on ' + e.MESH_TASK_HOST + ':' + e.PORT); console.error('stderr hello from ' + e.MESH_TASK_NAME) })
process.on('SIGTERM', () => { console.log('SIGTERM'); srv.close(); process.exit(0) })
if (e.CRASH_AFTER) setTimeout(() => { console.error('crashing'); process.exit(3) }, Number(e.CRASH_AFTER))
`

export function serverCommand (): string[] {
  return [process.execPath, '-e', SERVER]
}

export function makeSpec (name: string, partial: Partial<ServiceSpec> = {}): ServiceSpec {
  const now = Date.now()
  const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 300 }
  return {
    v: SCHEMA_VERSION,
    id: newId(),
    name,
    mode: 'replicated',
    replicas: 1,
    ports: [],
    hosts: [],
    health: null,
    command: serverCommand(),
    env: {},
    update,
    rollback: { ...update, failureAction: 'pause' },
    restart: { condition: 'any', delay: 0, maxAttempts: 0 },
    stopGrace: 2000,
    version: 1,
    updateState: '',
    updateMessage: '',
    createdAt: now,
    updatedAt: now,
    previous: null,
    ...partial
  }
}

export interface TestNode {
  name: string
  id: string
  addr: string
  ctx: NodeContext
  agent: Agent | null
  scheduler: Scheduler | null
  /** Stops heartbeats (the node "dies" for the cluster; its processes stay until close). */
  stopHeartbeat: () => void
  close: () => Promise<void>
}

export interface NodeOptions { agent?: boolean, manager?: boolean, availability?: NodeRecord['availability'] }

export async function openNode (c: Config, name: string, { agent = true, manager = false, availability = 'active' }: NodeOptions = {}): Promise<TestNode> {
  const conn = (label: string): ReturnType<typeof createRedis> => {
    const r = createRedis({ ...c.redis, name: `${name}-${label}`, commandTimeout: label === 'cmd' ? c.redis.connectTimeout * 2 : undefined })
    r.on('error', () => {})
    return r
  }
  const cmd = conn('cmd')
  const reader = conn('feed')
  await Promise.all([cmd.connect(), reader.connect()])
  const store = new RegistryStore(cmd, c.redis.prefix, c.registry.streamMaxLen)
  const feed = new RegistryFeed(store, reader, {
    resyncInterval: c.registry.resyncInterval,
    blockTimeout: c.registry.blockTimeout,
    reconnectMaxDelay: c.redis.reconnectMaxDelay,
    url: c.redis.url,
    nodeId: nodeIdFor(name),
    heartbeatTtl: c.node.heartbeatTtl
  })
  const id = nodeIdFor(name)
  const addr = loopback()
  const role = manager ? 'manager' : 'worker'
  const record: NodeRecord = { v: SCHEMA_VERSION, id, name, addr, role, availability, joinedAt: Date.now(), status: 'ready', admin: '' }
  await store.write([{ type: 'node', id, value: record }])
  await store.heartbeat(id, c.node.heartbeatTtl, 0)
  let beating = true
  const beat = setInterval(() => { if (beating) store.heartbeat(id, c.node.heartbeatTtl, feed.state.rev).catch(() => {}) }, c.node.heartbeatInterval)
  await feed.start()
  const ctx: NodeContext = { config: c, node: { id, name, addr, role }, store, feed, newRedis: conn }
  const node: TestNode = {
    name,
    id,
    addr,
    ctx,
    agent: agent ? startAgent(ctx) : null,
    scheduler: manager ? startScheduler(ctx) : null,
    stopHeartbeat: () => { beating = false },
    close: async () => {
      clearInterval(beat)
      await node.scheduler?.stop()
      await node.agent?.stop()
      await feed.stop()
      cmd.disconnect()
    }
  }
  return node
}

/** Entry of TestCluster.spawnNode's child process. */
export function runNodeProcess (overrides: Record<string, string>, name: string, options: NodeOptions): void {
  const config = loadConfig({ env: {}, overrides })
  openNode(config, name, options).then((node) => {
    process.on('SIGTERM', () => { node.close().then(() => process.exit(0), () => process.exit(1)) })
  }, (err: Error) => { console.error(err); process.exit(1) })
}

export class TestCluster {
  readonly redis: TestRedis
  readonly config: Config
  readonly store: RegistryStore
  readonly nodes: TestNode[] = []
  readonly children: ChildProcess[] = []
  readonly overrides: Record<string, string>

  private constructor (redis: TestRedis, config: Config, store: RegistryStore, overrides: Record<string, string>) {
    this.redis = redis
    this.config = config
    this.store = store
    this.overrides = overrides
  }

  static async start (t: Test, overrides: Record<string, string> = {}): Promise<TestCluster> {
    const redis = await TestRedis.start()
    const config = loadConfig({ env: {}, overrides: { ...FAST, ...overrides, 'redis.url': redis.url } })
    const conn = createRedis({ url: redis.url, connectTimeout: 2000, reconnectMaxDelay: 500, name: 'test-admin' })
    conn.on('error', () => {})
    await conn.connect()
    const cluster = new TestCluster(redis, config, new RegistryStore(conn, config.redis.prefix), overrides)
    t.teardown(async () => {
      for (const c of cluster.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      await Promise.all(cluster.nodes.map(async (n) => { await n.close() }))
      conn.disconnect()
      await redis.close()
    })
    return cluster
  }

  async addNode (name: string, options: NodeOptions = {}): Promise<TestNode> {
    const node = await openNode(this.config, name, options)
    this.nodes.push(node)
    return node
  }

  /**
   * A node in a child process (so a test can SIGKILL it): same wiring, its
   * own connections. Resolves once it has registered.
   */
  async spawnNode (name: string, options: NodeOptions = {}): Promise<ChildProcess> {
    const overrides = { ...FAST, ...this.overrides, 'redis.url': this.redis.url }
    const script = `require(${JSON.stringify(__filename)}).runNodeProcess(${JSON.stringify(overrides)}, ${JSON.stringify(name)}, ${JSON.stringify(options)})`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] })
    this.children.push(child)
    const id = nodeIdFor(name)
    await waitFor(async () => (await this.store.snapshot()).alive.has(id), { what: `node ${name} (child process) registered` })
    return child
  }

  /** Waits until every node's view has every (heartbeating) node alive, as after a cluster settles. */
  async settle (): Promise<void> {
    await waitFor(() => this.nodes.every((n) => this.nodes.every((m) => n.ctx.feed.state.alive.has(m.id))), { what: 'all nodes alive in every view' })
  }

  async createService (spec: ServiceSpec): Promise<ServiceSpec> {
    await this.store.write([{ type: 'service', id: spec.name, value: spec }])
    return spec
  }

  async service (name: string): Promise<ServiceSpec> {
    const snap = await this.store.snapshot()
    const spec = snap.services.get(name)
    if (spec === undefined) throw new Error(`no service ${name}`)
    return spec
  }

  /** As `mesh service update` would: a new version, the old spec kept as previous. */
  async updateService (name: string, change: Partial<ServiceSpec>, { bump = true } = {}): Promise<ServiceSpec> {
    const cur = await this.service(name)
    const { previous: _drop, ...prev } = cur
    const next: ServiceSpec = bump
      ? { ...cur, ...change, version: Math.max(cur.version, cur.previous?.version ?? 0) + 1, previous: prev, updatedAt: Date.now(), updateState: 'updating', updateMessage: '' }
      : { ...cur, ...change }
    await this.store.write([{ type: 'service', id: name, value: next }])
    return next
  }

  async removeService (name: string): Promise<void> {
    await this.store.write([{ type: 'service', id: name, value: null }])
  }

  async setAvailability (node: TestNode, availability: NodeRecord['availability']): Promise<void> {
    const snap = await this.store.snapshot()
    const rec = snap.nodes.get(node.id)
    if (rec === undefined) throw new Error(`no node ${node.name}`)
    await this.store.write([{ type: 'node', id: node.id, value: { ...rec, availability } }])
  }

  async tasks (service?: string): Promise<TaskRecord[]> {
    const snap = await this.store.snapshot()
    return [...snap.tasks.values()].filter((t) => service === undefined || t.service === service)
      .sort((a, b) => a.slot - b.slot || a.createdAt - b.createdAt)
  }

  /** Tasks desired running and running, by slot. */
  async running (service: string): Promise<TaskRecord[]> {
    return (await this.tasks(service)).filter((t) => t.desired === 'running' && t.state === 'running')
  }

  async waitRunning (service: string, n: number, { timeout = 10_000, version }: { timeout?: number, version?: number } = {}): Promise<TaskRecord[]> {
    return await waitFor(async () => {
      const all = await this.tasks(service)
      const live = all.filter((t) => t.desired === 'running')
      const ok = live.length === n && live.every((t) => t.state === 'running' && (version === undefined || t.specVersion === version))
      return ok ? live : null
    }, { timeout, what: `${n} running tasks of ${service}${version === undefined ? '' : ` at version ${version}`}` })
  }

  nodeName (id: string): string {
    return this.nodes.find((n) => n.id === id)?.name ?? id
  }
}

/** GET http://host:port/path -> body. */
export async function httpGet (host: string, port: number, path = '/'): Promise<string> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve(body) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end()
  })
}
