import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'
import { SCHEMA_VERSION, type TaskRecord, type NodeRecord } from '../../lib/registry/types'

t.test('tasks on a node whose heartbeat expired leave every table; they return when it beats again', async (t) => {
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  // A task of the service running on another (simulated) node, whose heartbeat we control.
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  const store = new RegistryStore(client, 'mesh:')
  const svc = JSON.parse(await client.hget('mesh:services', 'web') as string) as { id: string }
  const ghost: NodeRecord = { v: SCHEMA_VERSION, id: 'ghostnode', name: 'ghost', addr: b.host, role: 'worker', availability: 'active', joinedAt: Date.now(), status: 'ready', admin: '' }
  const task: TaskRecord = {
    v: SCHEMA_VERSION, id: 'ghosttask', serviceId: svc.id, service: 'web', slot: 9, node: 'ghostnode', static: false, host: b.host, port: b.port,
    desired: 'running', state: 'running', error: '', specVersion: 1, createdAt: Date.now(), stateAt: Date.now(), pid: 0, exitCode: null, restarts: 0
  }
  await store.write([{ type: 'node', id: ghost.id, value: ghost }, { type: 'task', id: task.id, value: task }])
  await store.heartbeat('ghostnode', 60_000, 0)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).body === 'b\n', { what: 'task on the live ghost node served' })

  await store.heartbeat('ghostnode', 300, 0) // stops beating: expires in 300 ms
  await waitFor(async () => {
    for (let i = 0; i < 4; i++) if ((await httpGet(`http://${node.addr}:8080/`)).body !== 'a\n') return false
    return true
  }, { timeout: 3000, what: 'ghost task dropped after its node\'s heartbeat expired' })
  t.pass('endpoint on the expired node left the table')
  await store.heartbeat('ghostnode', 60_000, 0)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).body === 'b\n', { what: 'back when the node beats again' })
  t.pass('and came back with the heartbeat')
})
