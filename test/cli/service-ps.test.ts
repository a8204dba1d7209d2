import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { mesh } from './mesh'
import { node, task } from './records'

t.test('service ps and ls show tasks the way docker does', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')

  const res = await mesh(r.url, ['service', 'create', '--name', 'nginx1', '--replicas', '2', '--publish', '80:80', '--detach', '--', 'mesh', 'whoami'])
  t.equal(res.code, 0, res.stderr)
  const id = res.stdout.trim()
  const now = Date.now()
  const base = { serviceId: id, service: 'nginx1' }
  await store.write([
    { type: 'node', id: 'n1id', value: node({ id: 'n1id', name: 'node1' }) },
    { type: 'node', id: 'n2id', value: node({ id: 'n2id', name: 'node2' }) },
    { type: 'task', id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', value: task({ ...base, id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', slot: 1, node: 'n1id', specVersion: 1, createdAt: now - 60_000, stateAt: now - 50_000, desired: 'shutdown', state: 'shutdown' }) },
    { type: 'task', id: 'bbbbbbbbbbbbbbbbbbbbbbbbb', value: task({ ...base, id: 'bbbbbbbbbbbbbbbbbbbbbbbbb', slot: 1, node: 'n2id', createdAt: now - 10_000, stateAt: now - 8_000 }) },
    { type: 'task', id: 'ccccccccccccccccccccccccc', value: task({ ...base, id: 'ccccccccccccccccccccccccc', slot: 2, node: 'n1id', createdAt: now - 5_000, stateAt: now - 90_000, state: 'failed', desired: 'running', error: 'exec: "nope": not found' }) }
  ])

  const ps = await mesh(r.url, ['service', 'ps', 'nginx1'])
  t.equal(ps.code, 0, ps.stderr)
  const lines = ps.stdout.trimEnd().split('\n')
  // docker's columns, the command where docker shows the image, PORTS: where the task itself listens.
  t.equal(lines[0], 'ID                  NAME                COMMAND             NODE                DESIRED STATE       CURRENT STATE               ERROR                         PORTS')
  t.match(lines[1], /^bbbbbbbbbbbb {8}nginx1\.1 {12}mesh whoami {9}node2 {15}Running {13}Running 8 seconds ago {7} {30}127\.0\.0\.1:20000->80\/tcp$/)
  t.match(lines[2], /^aaaaaaaaaaaa {9}\\_ nginx1\.1 {8}mesh whoami {9}node1 {15}Shutdown {12}Shutdown 50 seconds ago$/)
  t.match(lines[3], /^cccccccccccc {8}nginx1\.2 {12}mesh whoami {9}node1 {15}Running {13}Failed about a minute ago {3}"exec: \\"nope\\": not found"$/)
  t.equal(lines.length, 4)

  const ls = await mesh(r.url, ['service', 'ls'])
  t.match(ls.stdout, /nginx1 {14}replicated {10}1\/2 {17}mesh whoami {9}\*:80->80\/tcp {8}L7\n$/)
  const quiet = await mesh(r.url, ['service', 'ls', '-q'])
  t.equal(quiet.stdout, `${id.slice(0, 12)}\n`)
})
