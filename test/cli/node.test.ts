import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { dump, mesh, meshAll } from './mesh'
import { node } from './records'

t.test('node ls, update, rm', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')
  const ids = { n1: 'n1aaaaaaaaaaaaaaaaaaaaaaa', n2: 'n2aaaaaaaaaaaaaaaaaaaaaaa', n3: 'n3aaaaaaaaaaaaaaaaaaaaaaa', n4: 'n4aaaaaaaaaaaaaaaaaaaaaaa' }
  await store.write([
    { type: 'node', id: ids.n1, value: node({ id: ids.n1, name: 'node1', role: 'manager' }) },
    { type: 'node', id: ids.n2, value: node({ id: ids.n2, name: 'node2', role: 'manager' }) },
    { type: 'node', id: ids.n3, value: node({ id: ids.n3, name: 'node3', role: 'manager', availability: 'drain' }) },
    { type: 'node', id: ids.n4, value: node({ id: ids.n4, name: 'node4' }) }
  ])
  for (const id of [ids.n1, ids.n2, ids.n4]) await store.heartbeat(id, 60_000, 1)
  await redis.set('mesh:scheduler:lease', `${ids.n2}:7`)

  const ls = await mesh(r.url, ['node', 'ls'])
  t.equal(ls.code, 0, ls.stderr)
  t.equal(ls.stdout, [
    'ID                          HOSTNAME            STATUS              AVAILABILITY        MANAGER STATUS',
    `${ids.n1}   node1               Ready               Active              Reachable`,
    `${ids.n2}   node2               Ready               Active              Leader`,
    `${ids.n3}   node3               Down                Drain               Unreachable`,
    `${ids.n4}   node4               Ready               Active`
  ].join('\n') + '\n')

  let res = await mesh(r.url, ['node', 'update', '--availability', 'drain', 'node1'])
  t.equal(res.code, 0, res.stderr)
  t.equal((await store.snapshot()).nodes.get(ids.n1)?.availability, 'drain')
  res = await mesh(r.url, ['node', 'update', '--availability', 'pause', 'n4aaa'])
  t.equal(res.code, 0, res.stderr)
  t.equal((await store.snapshot()).nodes.get(ids.n4)?.availability, 'pause', 'found by id prefix')

  const before = await dump(redis)
  const bad = await meshAll(r.url, [
    ['node', 'update', '--availability', 'sleep', 'node1'],
    ['node', 'update', '--availability', 'active', 'node9'],
    ['node', 'update', 'node1'],
    ['node', 'rm', 'node1'],
    ['node', 'rm', 'node3', 'node9']
  ])
  t.match(bad[0], { code: 2, stderr: /--availability: "sleep" is not one of active, pause, drain/ })
  t.match(bad[1], { code: 1, stderr: /^mesh: error: no such node: node9\n$/ })
  t.match(bad[2], { code: 2, stderr: /give --availability/ })
  t.match(bad[3], { code: 1, stderr: /node node1 is not down and can't be removed/ })
  t.match(bad[4], { code: 1, stderr: /no such node: node9/ })
  t.equal(await dump(redis), before, 'nothing written by bad input')

  res = await mesh(r.url, ['node', 'rm', 'node3'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, 'node3\n')
  res = await mesh(r.url, ['node', 'rm', '--force', 'node4'])
  t.equal(res.code, 0, res.stderr)
  const snap = await store.snapshot()
  t.same([...snap.nodes.keys()].sort(), [ids.n1, ids.n2])
  t.equal(await redis.exists(`mesh:hb:${ids.n4}`), 0, 'forced removal clears the heartbeat')
})
