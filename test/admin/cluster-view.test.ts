import t from 'tap'
import { clusterView } from '../../lib/admin/cluster-view'
import type { ClusterState } from '../../lib/registry/feed'
import { SCHEMA_VERSION, type HealthRecord, type NodeRecord, type ServiceSpec, type TaskRecord } from '../../lib/registry/types'

const update = { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'pause' as const, monitor: 0 }

function service (partial: Partial<ServiceSpec>): ServiceSpec {
  return {
    v: SCHEMA_VERSION, id: 's1', name: 'web', mode: 'replicated', replicas: 3, ports: [{ published: 8080, target: 80, protocol: 'http' }],
    hosts: ['api.local'], health: { type: 'http', path: '/healthz', interval: 1000, timeout: 500, rise: 1, fall: 1 }, command: ['server', '--password', 'hunter2'],
    env: { DB_PASSWORD: 'hunter2' }, update, rollback: update, restart: { condition: 'any', delay: 0, maxAttempts: 0 }, stopGrace: 0, version: 2,
    updateState: 'updating', updateMessage: 'update in progress', createdAt: 0, updatedAt: 0, previous: null, ...partial
  }
}

function task (id: string, slot: number, specVersion: number, partial: Partial<TaskRecord> = {}): TaskRecord {
  return {
    v: SCHEMA_VERSION, id, serviceId: 's1', service: 'web', slot, node: 'n1', static: false, host: '127.0.0.5', port: 9000 + slot, desired: 'running',
    state: 'running', error: '', specVersion, createdAt: slot, stateAt: 0, pid: 1, exitCode: null, restarts: 0, ...partial
  }
}

const node: NodeRecord = { v: SCHEMA_VERSION, id: 'n1', name: 'node1', addr: '127.0.0.5', role: 'manager', availability: 'active', joinedAt: 0, status: 'ready', admin: '' }
const healthy = (id: string): [string, HealthRecord] => [id, { v: SCHEMA_VERSION, status: 'healthy', at: 1, by: 'n1', detail: '' }]

t.test('a rolling update shows per slot whether the new version runs there', async (t) => {
  const state: ClusterState = {
    epoch: 'e', rev: 9, services: new Map([['web', service({})]]), nodes: new Map([['n1', node]]), alive: new Set(['n1']),
    tasks: new Map([
      ['a', task('a', 1, 2)], // updated
      ['b', task('b', 2, 2, { state: 'starting' })], // on its way
      ['b0', task('b0', 2, 1, { desired: 'shutdown', state: 'shutdown' })],
      ['c', task('c', 3, 1)] // still the old version
    ]),
    health: new Map([healthy('a'), ['c', { v: SCHEMA_VERSION, status: 'unhealthy', at: 1, by: 'n1', detail: 'GET /healthz: 500' }]])
  }
  const view = clusterView(state, 'n1', 'n1')
  const web = view.services[0]
  t.same(web.slots, [{ slot: '1', state: 'updated' }, { slot: '2', state: 'updating' }, { slot: '3', state: 'old' }])
  t.same([web.running, web.desired, web.ports, web.check], [2, 3, ['*:8080->80/http'], 'http /healthz'])
  t.same(view.tasks.map((x) => [x.name, x.health, x.current]), [
    ['web.1', 'healthy', true], ['web.2', 'starting', true], ['web.2', '', false], ['web.3', 'unhealthy', false]
  ])
  t.same(view.nodes.map((n) => [n.name, n.status, n.managerStatus, n.self]), [['node1', 'ready', 'Leader', true]])
  t.notOk(JSON.stringify(view).includes('hunter2'), "neither the service's env nor its command reach the page")
})

t.test('an https service shows its ports with their protocol and the name of its certificate, never the certificate', async (t) => {
  const svc = service({ ports: [{ published: 443, target: 80, protocol: 'https' }, { published: 53, target: 53, protocol: 'udp' }], options: { backend: 'http1', cert: 'site', proxyProtocol: 0, redirectHttps: false } })
  const state: ClusterState = { epoch: 'e', rev: 1, services: new Map([['web', svc]]), nodes: new Map([['n1', node]]), alive: new Set(['n1']), tasks: new Map(), health: new Map() }
  const [web] = clusterView(state, 'n1', 'n1').services
  t.same([web.ports, web.cert], [['*:443->80/https', '*:53->53/udp'], 'site'])
  t.equal(clusterView({ ...state, services: new Map([['web', service({})]]) }, 'n1', 'n1').services[0].cert, '', 'no --cert: empty')
})

t.test('health: a task that failed is unhealthy whatever comes next; a dead node makes its tasks unreachable', async (t) => {
  const state: ClusterState = {
    epoch: 'e', rev: 3, services: new Map([['web', service({ health: null, updateState: 'completed' })]]), nodes: new Map([['n1', node]]), alive: new Set(),
    tasks: new Map([['k', task('k', 1, 2, { desired: 'shutdown', state: 'failed', error: 'task: killed by signal SIGKILL' })], ['r', task('r', 2, 2)]]),
    health: new Map()
  }
  const view = clusterView(state, 'other', null)
  t.same(view.tasks.map((x) => [x.id, x.health]), [['k', 'unhealthy'], ['r', 'unreachable']])
  t.same(view.nodes.map((n) => [n.status, n.managerStatus, n.self]), [['down', 'Unreachable', false]])
})
