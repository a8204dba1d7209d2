import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { staticTaskId } from '../../lib/registry/ids'
import { dump, mesh, meshAll } from './mesh'

t.test('service update, scale, rollback, rm', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')
  const spec = async (name: string) => (await store.snapshot()).services.get(name)

  let res = await mesh(r.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--publish', '8080:80', '--env', 'A=1', '--detach', '--', 'mesh', 'whoami'])
  t.equal(res.code, 0, res.stderr)
  res = await mesh(r.url, ['service', 'create', '--name', 'st', '--publish', '9000:80', '--endpoint', '127.0.0.31:9001', '--endpoint', '127.0.0.32:9001'])
  t.equal(res.code, 0, res.stderr)
  const stId = res.stdout.trim()

  // Replicas only: no new version, no previous.
  res = await mesh(r.url, ['service', 'update', 'web', '--replicas', '3', '--detach'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, 'web\n')
  t.match(await spec('web'), { replicas: 3, version: 1, previous: null })

  // Command + env: a rolling update (version bumped, previous kept, updating).
  res = await mesh(r.url, ['service', 'update', 'web', '--env-add', 'B=2', '--env-rm', 'A', '--update-order', 'start-first', '--detach', '--command', '--', 'mesh', 'whoami', '--version-tag', 'v2'])
  t.equal(res.code, 0, res.stderr)
  let s = await spec('web')
  t.match(s, { version: 2, updateState: 'updating', env: { B: '2' }, command: ['mesh', 'whoami', '--version-tag', 'v2'], update: { order: 'start-first' } })
  t.same(s?.env, { B: '2' })
  t.match(s?.previous, { version: 1, env: { A: '1' }, command: ['mesh', 'whoami'] })
  t.notOk(s?.previous !== null && s?.previous !== undefined && 'previous' in s.previous, 'previous has no previous of its own')

  // Ports: publish-rm + publish-add in one update.
  res = await mesh(r.url, ['service', 'update', 'web', '--publish-rm', '8080', '--publish-add', '8081:80/tcp', '--detach'])
  t.equal(res.code, 0, res.stderr)
  t.match(await spec('web'), { version: 3, ports: [{ published: 8081, target: 80, protocol: 'tcp' }] })

  // Rollback: back to version 2's spec as version 4; a second rollback returns.
  res = await mesh(r.url, ['service', 'rollback', 'web', '--detach'])
  t.equal(res.code, 0, res.stderr)
  s = await spec('web')
  t.match(s, { version: 4, ports: [{ published: 8080 }], replicas: 3, previous: { version: 3 } })

  // Static endpoints: add and remove in one atomic write, health record removed too.
  const gone = staticTaskId(stId, '127.0.0.31', 9001)
  await store.write([{ type: 'health', id: gone, value: { v: 1, status: 'healthy', at: Date.now(), by: 'n', detail: '' } }])
  res = await mesh(r.url, ['service', 'update', 'st', '--endpoint-rm', '127.0.0.31:9001', '--endpoint-add', '127.0.0.33:9001', '--host-add', 'st.local'])
  t.equal(res.code, 0, res.stderr)
  let snap = await store.snapshot()
  t.notOk(snap.tasks.has(gone))
  t.notOk(snap.health.has(gone))
  t.match(snap.tasks.get(staticTaskId(stId, '127.0.0.33', 9001)), { static: true, slot: 3, host: '127.0.0.33', port: 9001 })
  t.match(snap.services.get('st'), { version: 1, hosts: ['st.local'] })

  // Scale: docker's message, all pairs in one write.
  res = await mesh(r.url, ['service', 'scale', 'web=5', '--detach'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, 'web scaled to 5\n')
  t.equal((await spec('web'))?.replicas, 5)

  // Bad input: nothing written.
  const before = await dump(redis)
  const bad: Array<[string, string[], RegExp]> = [
    ['unknown service', ['service', 'update', 'nope', '--replicas', '2'], /no such service: nope/],
    ['replicas < 0', ['service', 'update', 'web', '--replicas', '-2'], /--replicas: "-2"/],
    ['bad duration', ['service', 'update', 'web', '--update-delay', 'later'], /--update-delay: "later"/],
    ['endpoint-rm not there', ['service', 'update', 'st', '--endpoint-rm', '127.0.0.99:1'], /127\.0\.0\.99:1: not an endpoint of service st/],
    ['endpoint-add malformed', ['service', 'update', 'st', '--endpoint-add', 'nohost'], /"nohost" is not HOST:PORT/],
    ['endpoint-add duplicate', ['service', 'update', 'st', '--endpoint-add', '127.0.0.32:9001'], /already an endpoint of service st/],
    ['publish-add taken', ['service', 'update', 'web', '--publish-add', '9000:80'], /port 9000 is already used by service st/],
    ['publish-add out of range', ['service', 'update', 'web', '--publish-add', '0:80'], /"0" is not a port/],
    ['publish-rm not published', ['service', 'update', 'web', '--publish-rm', '7777'], /does not publish port 7777/],
    ['host-rm unknown', ['service', 'update', 'st', '--host-rm', 'x.local'], /has no host x\.local/],
    ['command flag without command', ['service', 'update', 'web', '--command'], /--command needs the new command/],
    ['replicas on a static-only service', ['service', 'update', 'st', '--replicas', '2'], /no command/],
    ['scale: one bad pair', ['service', 'scale', 'web=1', 'nope=2'], /no such service: nope/],
    ['scale: bad number', ['service', 'scale', 'web=-1'], /web=: "-1"/],
    ['scale: malformed', ['service', 'scale', 'web'], /"web" is not SERVICE=REPLICAS/],
    ['rollback: no previous', ['service', 'rollback', 'st'], /service st has no previous spec/],
    ['rollback: unknown', ['service', 'rollback', 'nope'], /no such service: nope/]
  ]
  const results = await meshAll(r.url, bad.map(([, args]) => args))
  bad.forEach(([what, , message], i) => {
    t.not(results[i].code, 0, `${what}: non-zero exit`)
    t.match(results[i].stderr, /^mesh: error: [^\n]+\n$/, `${what}: one error line`)
    t.match(results[i].stderr, message, `${what}: names the bad value`)
  })
  t.equal(await dump(redis), before, 'registry unchanged by every bad command')

  // rm: static tasks and health go, scheduled tasks are marked for removal.
  await store.write([{
    type: 'task',
    id: 'task1',
    value: {
      v: 1, id: 'task1', serviceId: (await spec('web'))?.id ?? '', service: 'web', slot: 1, node: 'n1', static: false, host: '127.0.0.1',
      port: 20000, desired: 'running', state: 'running', error: '', specVersion: 4, createdAt: Date.now(), stateAt: Date.now(), pid: 1, exitCode: null, restarts: 0
    }
  }])
  await redis.xadd('mesh:logs:web', '*', 'task', 'task1', 'name', 'web.1', 'node', 'n1', 'stream', 'stdout', 'line', 'x')
  res = await mesh(r.url, ['service', 'rm', 'web', 'st'])
  t.equal(res.code, 0, res.stderr)
  snap = await store.snapshot()
  t.equal(snap.services.size, 0)
  t.equal(snap.tasks.get('task1')?.desired, 'remove', 'scheduled task told to stop')
  t.equal([...snap.tasks.values()].filter((x) => x.static).length, 0)
  t.equal(snap.health.size, 0)
  t.equal(await redis.exists('mesh:logs:web'), 0, 'log stream dropped')
})
