/** Synthetic registry state for micro benches: services with static endpoints, some unhealthy. */
import type { ClusterState } from '../../lib/registry/feed'
import type { HealthRecord, ServiceSpec, TaskRecord } from '../../lib/registry/types'
import type { PoolOptions } from '../../lib/balancer/endpoint'

export const POOL: PoolOptions = {
  connectTimeout: 2000, headersTimeout: 30_000, bodyTimeout: 60_000, keepAliveTimeout: 4000, connections: 256, maxHeaderSize: 16384, maxQueued: 1024, queueTimeout: 5000
}

const UPDATE = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 5000 }

export function service (i: number, port: number, hosts: string[] = [], withCheck = false): ServiceSpec {
  return {
    v: 1,
    id: `svc${String(i).padStart(21, '0')}`,
    name: `s${i}`,
    mode: 'replicated',
    replicas: 0,
    ports: [{ published: port, target: 80, protocol: 'http' }],
    hosts,
    health: withCheck ? { type: 'tcp', path: '', interval: 5000, timeout: 2000, rise: 2, fall: 3 } : null,
    command: [],
    env: {},
    update: UPDATE,
    rollback: UPDATE,
    restart: { condition: 'any', delay: 1000, maxAttempts: 0 },
    stopGrace: 10_000,
    version: 1,
    updateState: '',
    updateMessage: '',
    createdAt: i,
    updatedAt: i,
    previous: null
  }
}

export function endpoint (svc: ServiceSpec, j: number): TaskRecord {
  return {
    v: 1,
    id: `${svc.id}t${String(j).padStart(8, '0')}`,
    serviceId: svc.id,
    service: svc.name,
    slot: j,
    node: '',
    static: true,
    host: `127.${1 + ((j >> 16) & 255)}.${(j >> 8) & 255}.${j & 255}`,
    port: 9001,
    desired: 'running',
    state: 'running',
    error: '',
    specVersion: 1,
    createdAt: 0,
    stateAt: 0,
    pid: 0,
    exitCode: null,
    restarts: 0
  }
}

const HEALTHY: HealthRecord = { v: 1, status: 'healthy', at: 0, by: 'bench', detail: '' }
const UNHEALTHY: HealthRecord = { v: 1, status: 'unhealthy', at: 0, by: 'bench', detail: '' }

/**
 * `services` services on ports 30000+, `perService` endpoints each; with a
 * check, every `unhealthyEvery`-th endpoint is marked unhealthy (the build's health filter drops it).
 */
export function clusterState (services: number, perService: number, opts: { withCheck?: boolean, unhealthyEvery?: number, hosts?: (i: number) => string[], samePort?: boolean } = {}): ClusterState {
  const state: ClusterState = {
    epoch: 'bench', rev: 1, services: new Map(), tasks: new Map(), health: new Map(), nodes: new Map(), alive: new Set()
  }
  for (let i = 0; i < services; i++) {
    const svc = service(i, opts.samePort === true ? 30000 : 30000 + i, opts.hosts?.(i) ?? [], opts.withCheck === true)
    state.services.set(svc.name, svc)
    for (let j = 0; j < perService; j++) {
      const t = endpoint(svc, j)
      state.tasks.set(t.id, t)
      if (opts.withCheck === true) {
        const bad = opts.unhealthyEvery !== undefined && j % opts.unhealthyEvery === opts.unhealthyEvery - 1
        state.health.set(t.id, bad ? UNHEALTHY : HEALTHY)
      }
    }
  }
  return state
}
