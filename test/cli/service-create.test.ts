import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { staticTaskId } from '../../lib/registry/ids'
import { dump, mesh, meshAll } from './mesh'

t.test('service create, ls, inspect, rm with static endpoints', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')

  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--publish', '8080:80',
    '--endpoint', '127.0.0.31:9001', '--endpoint', '127.0.0.32:9001'])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^[0-9a-z]{25}\n$/, 'prints the new service id')
  const id = created.stdout.trim()

  const snap = await store.snapshot()
  const spec = snap.services.get('web')
  t.ok(spec)
  t.same(spec?.ports, [{ published: 8080, target: 80, protocol: 'http' }])
  t.equal(spec?.replicas, 0)
  t.equal(spec?.mode, 'replicated')
  const ep1 = snap.tasks.get(staticTaskId(id, '127.0.0.31', 9001))
  t.match(ep1, { static: true, node: '', slot: 1, host: '127.0.0.31', port: 9001, desired: 'running', state: 'running', service: 'web' })
  t.match(snap.tasks.get(staticTaskId(id, '127.0.0.32', 9001)), { slot: 2 })

  const tcp = await mesh(r.url, ['service', 'create', '--name', 'db', '--publish', '5432:5432/tcp', '--endpoint', '127.0.0.40:5432'])
  t.equal(tcp.code, 0, tcp.stderr)

  const ls = await mesh(r.url, ['service', 'ls'])
  t.equal(ls.code, 0)
  const lines = ls.stdout.trimEnd().split('\n')
  // PORTS as docker prints them (every port is tcp on the wire); how the mesh routes each one is ROUTING's.
  t.match(lines[0], /^ID {18}NAME {16}MODE {16}REPLICAS {12}COMMAND {13}PORTS {15}ROUTING$/)
  t.match(lines[1], new RegExp('^[0-9a-z]{12} {8}db {18}replicated {10}1/1 \\(static\\) {8}- {19}\\*:5432->5432/tcp {4}L4$'))
  t.match(lines[2], new RegExp(`^${id.slice(0, 12)} {8}web {17}replicated {10}2/2 \\(static\\) {8}- {19}\\*:8080->80/tcp {6}L7$`))

  const inspect = await mesh(r.url, ['service', 'inspect', 'web'])
  t.equal(inspect.code, 0)
  const parsed = JSON.parse(inspect.stdout) as Array<Record<string, unknown>>
  t.equal(parsed.length, 1)
  t.match(parsed[0], { id, name: 'web', endpoints: ['127.0.0.31:9001', '127.0.0.32:9001'] })

  // Shared http port: allowed when both name distinct hosts.
  const a = await mesh(r.url, ['service', 'create', '--name', 'a', '--publish', '9090:80', '--host', 'a.local', '--endpoint', '127.0.0.50:1'])
  const b = await mesh(r.url, ['service', 'create', '--name', 'b', '--publish', '9090:80', '--host', '*.b.local', '--endpoint', '127.0.0.51:1'])
  t.equal(a.code, 0, a.stderr)
  t.equal(b.code, 0, b.stderr)

  const rm = await mesh(r.url, ['service', 'rm', 'web', 'db'])
  t.equal(rm.code, 0, rm.stderr)
  t.equal(rm.stdout, 'web\ndb\n')
  const after = await store.snapshot()
  t.notOk(after.services.has('web'))
  t.equal([...after.tasks.values()].filter((x) => x.service === 'web' || x.service === 'db').length, 0, 'static endpoints removed with the service')
})

t.test('bad input: one clear error, non-zero exit, nothing written', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const ok = await mesh(r.url, ['service', 'create', '--name', 'web', '--publish', '8080:80', '--publish', '5432:5432/tcp', '--host', 'web.local', '--endpoint', '127.0.0.31:9001'])
  t.equal(ok.code, 0, ok.stderr)
  const before = await dump(redis)

  const cases: Array<[string, string[], number, RegExp]> = [
    ['port out of range', ['--name', 'x', '--publish', '70000:80', '--endpoint', '127.0.0.1:1'], 2, /70000.*not a port/],
    ['target port zero', ['--name', 'x', '--publish', '8081:0', '--endpoint', '127.0.0.1:1'], 2, /"0" is not a port/],
    ['malformed publish', ['--name', 'x', '--publish', ':80', '--endpoint', '127.0.0.1:1'], 2, /":80" is not \[PUBLISHED:\]TARGET/],
    ['unknown protocol', ['--name', 'x', '--publish', '8081:80/sctp', '--endpoint', '127.0.0.1:1'], 2, /protocol "sctp"/],
    ['duplicate published port', ['--name', 'x', '--publish', '8081:80', '--publish', '8081:81', '--endpoint', '127.0.0.1:1'], 1, /port 8081 is given twice/],
    ['port of another service (no hosts)', ['--name', 'x', '--publish', '8080:80', '--endpoint', '127.0.0.1:1'], 1, /port 8080 is already used by service web/],
    ['host overlap on a shared port', ['--name', 'x', '--publish', '8080:80', '--host', 'web.local', '--endpoint', '127.0.0.1:1'], 1, /service web for host web\.local/],
    ['tcp port taken', ['--name', 'x', '--publish', '5432:5432/tcp', '--endpoint', '127.0.0.1:1'], 1, /port 5432 is already used by service web \(tcp\)/],
    ['malformed endpoint', ['--name', 'x', '--endpoint', '127.0.0.31'], 2, /"127\.0\.0\.31" is not HOST:PORT/],
    ['endpoint port out of range', ['--name', 'x', '--endpoint', '127.0.0.31:99999'], 2, /127\.0\.0\.31:99999" has no valid port/],
    ['duplicate endpoint', ['--name', 'x', '--endpoint', '127.0.0.31:1', '--endpoint', '127.0.0.31:1'], 2, /127\.0\.0\.31:1 is given twice/],
    ['replicas < 0', ['--name', 'x', '--replicas', '-1', '--', 'mesh', 'whoami'], 2, /--replicas: "-1" is not a whole number/],
    ['replicas not a number', ['--name', 'x', '--replicas', 'three', '--', 'mesh', 'whoami'], 2, /--replicas: "three"/],
    ['replicas without command', ['--name', 'x', '--replicas', '3'], 2, /--replicas 3 but no command/],
    ['nothing to run', ['--name', 'x', '--publish', '8081:80'], 2, /no command/],
    ['empty command after --', ['--name', 'x', '--'], 2, /nothing after --/],
    ['bad duration', ['--name', 'x', '--update-delay', '5 sec', '--', 'mesh', 'whoami'], 2, /--update-delay: "5 sec" is not a duration/],
    ['bad health interval', ['--name', 'x', '--health-path', '/h', '--health-interval', 'soon', '--', 'mesh', 'whoami'], 2, /--health-interval: "soon"/],
    ['health tuning without a check', ['--name', 'x', '--health-rise', '2', '--', 'mesh', 'whoami'], 2, /need a check/],
    ['bad health path', ['--name', 'x', '--health-path', 'healthz', '--', 'mesh', 'whoami'], 2, /--health-path: "healthz"/],
    ['bad update order', ['--name', 'x', '--update-order', 'random', '--', 'mesh', 'whoami'], 2, /--update-order: "random" is not one of stop-first, start-first/],
    ['bad mode', ['--name', 'x', '--mode', 'all', '--', 'mesh', 'whoami'], 2, /--mode: "all"/],
    ['global with replicas', ['--name', 'x', '--mode', 'global', '--replicas', '2', '--', 'mesh', 'whoami'], 2, /--replicas cannot be used with --mode global/],
    ['bad env', ['--name', 'x', '--env', 'NOVALUE', '--', 'mesh', 'whoami'], 2, /--env: "NOVALUE" is not KEY=VALUE/],
    ['bad host name', ['--name', 'x', '--host', 'bad_host!', '--endpoint', '127.0.0.1:1'], 2, /--host: "bad_host!" is not a host name/],
    ['bad service name', ['--name', 'we b', '--endpoint', '127.0.0.1:1'], 2, /--name: "we b" is not a valid name/],
    ['missing name', ['--endpoint', '127.0.0.1:1'], 2, /missing --name/],
    ['name taken', ['--name', 'web', '--endpoint', '127.0.0.1:1'], 1, /service web already exists/],
    ['unknown flag', ['--name', 'x', '--bogus', '--', 'x'], 2, /unknown flag --bogus/],
    ['command without --', ['--name', 'x', 'nginx'], 2, /put the command after --/]
  ]
  const results = await meshAll(r.url, cases.map(([, args]) => ['service', 'create', ...args]))
  cases.forEach(([what, , code, message], i) => {
    const res = results[i]
    t.equal(res.code, code, `${what}: exit code`)
    t.match(res.stderr, /^mesh: error: [^\n]+\n$/, `${what}: exactly one error line`)
    t.match(res.stderr, message, `${what}: names the bad value`)
    t.equal(res.stdout, '', `${what}: prints nothing else`)
  })
  t.equal(await dump(redis), before, 'registry unchanged by every bad command')

  const unknown = await Promise.all([
    mesh(r.url, ['service', 'inspect', 'nope']),
    mesh(r.url, ['service', 'rm', 'nope']),
    mesh(r.url, ['service', 'ps', 'nope']),
    mesh(r.url, ['service', 'logs', 'nope']),
    mesh(r.url, ['service', 'frob']),
    mesh(r.url, ['service', 'ls', 'extra'])
  ])
  for (const res of unknown.slice(0, 4)) {
    t.equal(res.code, 1)
    t.equal(res.stderr, 'mesh: error: no such service: nope\n')
  }
  t.equal(unknown[4].code, 2)
  t.match(unknown[4].stderr, /unknown command "mesh service frob"/)
  t.equal(unknown[5].code, 2)
  t.equal(await dump(redis), before, 'nothing written by a command naming no existing service')

  // docker's service rm: the services found go, each unknown name is reported, exit 1.
  const rm = await mesh(r.url, ['service', 'rm', 'web', 'nope', 'nope2'])
  t.equal(rm.code, 1, 'exit 1: one name was not found')
  t.equal(rm.stdout, 'web\n', 'web removed and named')
  t.equal(rm.stderr, 'mesh: error: no such service: nope\nmesh: error: no such service: nope2\n', 'each unknown name on its own line')
  t.notOk((await new RegistryStore(redis, 'mesh:').snapshot()).services.has('web'), 'web is gone from the registry')
})

t.test('registry unreachable: one line naming the redacted URL', async (t) => {
  const r = await TestRedis.start()
  const url = `redis://:hunter2@127.0.0.1:${r.port}`
  await r.close()
  const started = Date.now()
  const res = await mesh('redis://127.0.0.1:1', ['--redis', url, 'service', 'create', '--name', 'web', '--endpoint', '127.0.0.1:1'])
  t.equal(res.code, 1)
  t.match(res.stderr, new RegExp(`^mesh: error: cannot reach the registry at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${r.port} \\(ECONNREFUSED\\)`))
  t.notMatch(res.stderr, /hunter2/)
  t.ok(Date.now() - started < 5000, 'fails within the connect timeout')
})
