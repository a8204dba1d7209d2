/**
 * Listings as docker prints them: service ps -q / --no-trunc / -f filters,
 * --format json and Go templates on service ls, service ps, service
 * inspect and node ls, and `--publish 80` (a bare target).
 */
import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { mesh } from './mesh'
import { node, task } from './records'

t.test('service ps: -q, --no-trunc, -f filters; --format on ls, ps, inspect, node ls', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')

  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--publish', '8080:80', '-d', '--', 'mesh', 'whoami', '--version-tag', 'a-rather-long-version-tag-that-is-cut'])
  t.equal(created.code, 0, created.stderr)
  const id = created.stdout.trim()
  const db = await mesh(r.url, ['service', 'create', '--name', 'db', '--publish', '5432:5432/tcp', '--endpoint', '127.0.0.40:5432'])
  t.equal(db.code, 0, db.stderr)
  const now = Date.now()
  const base = { serviceId: id, service: 'web' }
  const longError = 'exec: "mesh-nope": executable file not found in $PATH'
  await store.write([
    { type: 'node', id: 'n1aaaaaaaaaaaaaaaaaaaaaaa', value: node({ id: 'n1aaaaaaaaaaaaaaaaaaaaaaa', name: 'node1' }) },
    { type: 'node', id: 'n2aaaaaaaaaaaaaaaaaaaaaaa', value: node({ id: 'n2aaaaaaaaaaaaaaaaaaaaaaa', name: 'node2' }) },
    { type: 'task', id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', value: task({ ...base, id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', slot: 1, node: 'n1aaaaaaaaaaaaaaaaaaaaaaa', createdAt: now - 60_000, desired: 'shutdown', state: 'failed', error: longError }) },
    { type: 'task', id: 'bbbbbbbbbbbbbbbbbbbbbbbbb', value: task({ ...base, id: 'bbbbbbbbbbbbbbbbbbbbbbbbb', slot: 1, node: 'n2aaaaaaaaaaaaaaaaaaaaaaa', createdAt: now - 10_000, port: 20001 }) },
    { type: 'task', id: 'ccccccccccccccccccccccccc', value: task({ ...base, id: 'ccccccccccccccccccccccccc', slot: 2, node: 'n1aaaaaaaaaaaaaaaaaaaaaaa', createdAt: now - 5_000, port: 20002 }) }
  ])
  await store.heartbeat('n1aaaaaaaaaaaaaaaaaaaaaaa', 60_000, 1)

  // -q: task ids, 12 characters; --no-trunc: whole ids.
  t.equal((await mesh(r.url, ['service', 'ps', '-q', 'web'])).stdout, 'bbbbbbbbbbbb\naaaaaaaaaaaa\ncccccccccccc\n')
  t.equal((await mesh(r.url, ['service', 'ps', '-q', '--no-trunc', 'web'])).stdout, 'bbbbbbbbbbbbbbbbbbbbbbbbb\naaaaaaaaaaaaaaaaaaaaaaaaa\nccccccccccccccccccccccccc\n')

  // Errors cut to docker's 30 characters, whole with --no-trunc; the command cut at 40.
  const ps = (await mesh(r.url, ['service', 'ps', 'web'])).stdout
  t.match(ps, /\naaaaaaaaaaaa {8} \\_ web\.1 {11}mesh whoami --version-tag a-rather-long… {3}node1 +Shutdown +Failed .* ago +"exec: \\"mesh-nope\\": executable…"\n/)
  const full = (await mesh(r.url, ['service', 'ps', '--no-trunc', 'web'])).stdout
  t.ok(full.includes(JSON.stringify(longError)), 'the whole error with --no-trunc')
  t.ok(full.includes('mesh whoami --version-tag a-rather-long-version-tag-that-is-cut'), 'the whole command with --no-trunc')
  t.match(full, /127\.0\.0\.1:20001->80\/tcp\n/, 'PORTS: where the task listens, per target port')

  // -f: one key several times = any of them; different keys = all of them.
  const names = async (...args: string[]): Promise<string[]> => (await mesh(r.url, ['service', 'ps', '--format', '{{.ID}} {{.Node}}', ...args, 'web'])).stdout.trim().split('\n').filter((l) => l !== '')
  t.same(await names('-f', 'desired-state=running'), ['bbbbbbbbbbbb node2', 'cccccccccccc node1'])
  t.same(await names('-f', 'node=node1'), ['aaaaaaaaaaaa node1', 'cccccccccccc node1'])
  t.same(await names('-f', 'node=node1', '-f', 'desired-state=running'), ['cccccccccccc node1'])
  t.same(await names('-f', 'node=node1', '-f', 'node=node2', '-f', 'desired-state=running'), ['bbbbbbbbbbbb node2', 'cccccccccccc node1'])
  t.same(await names('--filter', 'name=web.2'), ['cccccccccccc node1'])
  t.same(await names('-f', 'id=bbb'), ['bbbbbbbbbbbb node2'])
  const badKey = await mesh(r.url, ['service', 'ps', '-f', 'colour=red', 'web'])
  t.equal(badKey.code, 2)
  t.match(badKey.stderr, /^mesh: error: --filter: invalid filter 'colour' \(keys: id, name, node, desired-state\)\n$/)
  const badState = await mesh(r.url, ['service', 'ps', '-f', 'desired-state=asleep', 'web'])
  t.equal(badState.code, 2)
  t.match(badState.stderr, /"asleep" is not one of running, shutdown, remove/)

  // --format json: one object per row with docker's field names.
  const json = JSON.parse((await mesh(r.url, ['service', 'ps', '--format', 'json', '-f', 'id=ccc', 'web'])).stdout) as Record<string, string>
  t.same(Object.keys(json), ['ID', 'Name', 'Command', 'Node', 'DesiredState', 'CurrentState', 'Error', 'Ports'], 'docker\'s field names')
  t.match(json, {
    ID: 'cccccccccccc', Name: 'web.2', Command: 'mesh whoami --version-tag a-rather-long…', Node: 'node1',
    DesiredState: 'Running', CurrentState: /^Running .* ago$/, Error: '', Ports: '127.0.0.1:20002->80/tcp'
  })
  t.equal((await mesh(r.url, ['service', 'ps', '--format', '{{json .Name}}', '-f', 'id=ccc', 'web'])).stdout, '"web.2"\n')
  t.equal((await mesh(r.url, ['service', 'ps', '--format', '{{.Image}}', '-f', 'id=ccc', '--no-trunc', 'web'])).stdout,
    'mesh whoami --version-tag a-rather-long-version-tag-that-is-cut\n', '{{.Image}} reads the command, as docker users type it')

  const ls = await mesh(r.url, ['service', 'ls', '--format', '{{.Name}}: {{.Replicas}} {{.Ports}} {{.Routing}}'])
  t.equal(ls.stdout, 'db: 1/1 (static) *:5432->5432/tcp L4\nweb: 2/2 *:8080->80/tcp L7\n')
  const lsJson = (await mesh(r.url, ['service', 'ls', '--format', '{{json .}}', '-f', 'name=we'])).stdout
  t.same(JSON.parse(lsJson), { ID: id.slice(0, 12), Name: 'web', Mode: 'replicated', Replicas: '2/2', Command: 'mesh whoami --version-tag a-rather-long…', Ports: '*:8080->80/tcp', Routing: 'L7' })
  t.equal((await mesh(r.url, ['service', 'ls', '-q', '-f', 'mode=replicated', '-f', 'name=d'])).stdout.split('\n').length, 2, 'ls filters too')
  const table = await mesh(r.url, ['service', 'ls', '--format', 'table {{.Name}}\\t{{.Ports}}'])
  t.equal(table.stdout, 'NAME                PORTS\ndb                  *:5432->5432/tcp\nweb                 *:8080->80/tcp\n', 'a table of the template\'s cells, headed by the column names')

  const inspect = await mesh(r.url, ['service', 'inspect', '--format', '{{.Name}} {{.ID}} {{json .ports}}', 'web', 'db'])
  t.equal(inspect.stdout, `web ${id} [{"published":8080,"target":80,"protocol":"http"}]\ndb ${(await store.snapshot()).services.get('db')?.id ?? ''} [{"published":5432,"target":5432,"protocol":"tcp"}]\n`)
  t.same(JSON.parse((await mesh(r.url, ['service', 'inspect', '--format', '{{json .}}', 'web'])).stdout).endpoints, [], '{{json .}} is the whole record')

  const nodes = await mesh(r.url, ['node', 'ls', '--format', '{{.Hostname}} {{.Availability}} {{.ID}}'])
  t.equal(nodes.stdout, 'node1 Active n1aaaaaaaaaaaaaaaaaaaaaaa\nnode2 Active n2aaaaaaaaaaaaaaaaaaaaaaa\n')
  const nodesJson = (await mesh(r.url, ['node', 'ls', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
  t.match(nodesJson[0], { ID: 'n1aaaaaaaaaaaaaaaaaaaaaaa', Hostname: 'node1', Status: /^(Ready|Down)$/, Availability: 'Active', ManagerStatus: '' })

  // A field the rows do not have, or a template that does not parse: usage (2), one line naming what is there.
  const field = await mesh(r.url, ['service', 'ls', '--format', '{{.Colour}}'])
  t.equal(field.code, 2)
  t.match(field.stderr, /^mesh: error: --format: can't evaluate field Colour: the fields are ID, Name, Mode, Replicas, Command, Ports, Routing\n$/)
  const control = await mesh('redis://127.0.0.1:1', ['service', 'ps', '--format', '{{range .}}x{{end}}', 'web'])
  t.equal(control.code, 2, 'checked before the registry is read (this one is unreachable)')
  t.match(control.stderr, /\{\{range\}\} is not supported/)
  const unclosed = await mesh('redis://127.0.0.1:1', ['node', 'ls', '--format', '{{.ID'])
  t.equal(unclosed.code, 2)
  t.match(unclosed.stderr, /--format: unclosed action/)
})

t.test('--publish 80: a bare target gets a free published port, as docker\'s ingress does', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')

  for (const [name, publish] of [['a', '80'], ['b', '80'], ['c', '5432/tcp']]) {
    const res = await mesh(r.url, ['service', 'create', '--name', name, '--publish', publish, '--endpoint', '127.0.0.50:1'])
    t.equal(res.code, 0, res.stderr)
  }
  const taken = await mesh(r.url, ['service', 'create', '--name', 'd', '--publish', '30003:80', '--endpoint', '127.0.0.50:1'])
  t.equal(taken.code, 0, taken.stderr)
  const upd = await mesh(r.url, ['service', 'update', 'a', '--publish-add', '81', '-d'])
  t.equal(upd.code, 0, upd.stderr)
  const ports = (await mesh(r.url, ['service', 'ls', '--format', '{{.Name}} {{.Ports}}'])).stdout
  t.equal(ports, 'a *:30000->80/tcp, *:30004->81/tcp\nb *:30001->80/tcp\nc *:30002->5432/tcp\nd *:30003->80/tcp\n', 'the lowest free ports from 30000, a port taken skipped')
  t.same((await store.snapshot()).services.get('c')?.ports, [{ published: 30002, target: 5432, protocol: 'tcp' }], '/tcp kept')
})
