import t from 'tap'
import type { PoolOptions } from '../../lib/balancer/endpoint'
import type { ClusterState } from '../../lib/registry/feed'
import type { ServiceSpec, TaskRecord } from '../../lib/registry/types'
import { TableBuilder } from '../../lib/table/table-builder'
import { node, task } from '../cli/records'
import { Backend } from '../helpers/backend'
import { makeSpec } from '../helpers/cluster-fixture'
import { loopback } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

const POOL = { connectTimeout: 2000, headersTimeout: 5000, bodyTimeout: 5000, keepAliveTimeout: 60_000, connections: 4, maxHeaderSize: 16384, maxQueued: 100, queueTimeout: 1000 } as PoolOptions

function state (spec: ServiceSpec, tasks: TaskRecord[]): ClusterState {
  return { epoch: 'e', rev: 1, services: new Map([[spec.name, spec]]), tasks: new Map(tasks.map((x) => [x.id, x])), health: new Map(), nodes: new Map([['n1', node({ id: 'n1', name: 'n1' })]]), alive: new Set(['n1']) }
}

t.test('a task that moves to another host gets a new endpoint, and the old one\'s pool is closed', async (t) => {
  const a = await Backend.start('a')
  const b = await Backend.start('b', loopback(), a.port) // same port, another address
  const builder = new TableBuilder(POOL)
  t.teardown(async () => { await builder.close(); await a.close(); await b.close() })
  const spec = makeSpec('web', { ports: [{ published: 8080, target: 80, protocol: 'http' }] })
  const at = (host: string): TaskRecord => task({ id: 't1', serviceId: spec.id, service: 'web', slot: 1, node: 'n1', host, port: a.port })

  const first = builder.build(state(spec, [at(a.host)])).ports.get(8080)?.single?.balancer.endpoints[0]
  t.equal(first?.address, a.address, 'served from a')
  const res = await first!.pool.request({ path: '/', method: 'GET' })
  t.equal(await res.body.text(), 'a\n')
  t.equal(a.sockets.size, 1, 'a keep-alive connection to a is open')

  const moved = builder.build(state(spec, [at(b.host)])).ports.get(8080)?.single?.balancer.endpoints[0]
  t.equal(moved?.address, b.address, 'the same task now served from b')
  t.not(moved, first, 'by a new endpoint')
  // Well before a's own keep-alive timeout (5 s, which undici honours 2 s early): closed by the rebuild.
  await waitFor(() => a.sockets.size === 0, { timeout: 1000, what: 'the old endpoint\'s connection to a closed' })
  t.pass('the old endpoint\'s pool was closed (its connection to a is gone)')
})

t.test('a port whose protocol changes gets a new balancer, and the old one lets go of its endpoints', async (t) => {
  const builder = new TableBuilder(POOL)
  t.teardown(async () => { await builder.close() })
  const http = makeSpec('web', { ports: [{ published: 8080, target: 80, protocol: 'http' }] })
  const tasks = [task({ id: 't1', serviceId: http.id, service: 'web', slot: 1, node: 'n1', host: '127.0.0.1', port: 20001 })]
  const before = builder.build(state(http, tasks)).ports.get(8080)?.single
  const ep = before?.balancer.endpoints[0]
  t.equal(ep?.balancers.size, 1, 'the endpoint is in one balancer')

  const after = builder.build(state({ ...http, ports: [{ published: 8080, target: 80, protocol: 'tcp' }] }, tasks)).ports.get(8080)?.single
  t.equal(after?.protocol, 'tcp', 'the port is now tcp')
  t.equal(after?.balancer.endpoints[0], ep, 'the same endpoint (same task and port)')
  t.not(after?.balancer, before?.balancer, 'in a new balancer')
  t.equal(ep?.balancers.size, 1, 'and only in the new one')
  t.same(before?.balancer.endpoints, [], 'the old balancer holds nothing')
})
