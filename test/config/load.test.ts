import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, envName } from '../../lib/config/load'
import { isMeshError } from '../../lib/errors'

t.test('defaults come from config/default.yaml', async (t) => {
  const c = loadConfig({ env: {} })
  t.equal(c.redis.url, 'redis://127.0.0.1:6379')
  t.equal(c.proxy.connectTimeout, 2000, 'durations become milliseconds')
  t.equal(c.node.bind, c.node.advertise, 'bind defaults to advertise')
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.proxy), 'frozen')
})

t.test('file < env < flags', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-config-'))
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'proxy:\n  connectTimeout: 5s\n  maxTries: 2\nnode:\n  name: filenode\n')
  const c = loadConfig({ file, env: { MESH_PROXY_MAX_TRIES: '4', MESH_REDIS_URL: 'rediss://u:p@example.test:6380' }, overrides: { 'node.name': 'flagnode' } })
  t.equal(c.proxy.connectTimeout, 5000, 'file')
  t.equal(c.proxy.maxTries, 4, 'env beats file')
  t.equal(c.node.name, 'flagnode', 'flag beats file')
  t.equal(c.redis.url, 'rediss://u:p@example.test:6380', 'MESH_REDIS_URL')
  t.equal(envName('proxy', 'connectTimeout'), 'MESH_PROXY_CONNECT_TIMEOUT')
})

t.test('bad values are refused once, naming the key', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'proxy.connectTimeout': 'soon' }, /proxy\.connectTimeout: "soon" is not a duration/],
    [{ 'proxy.maxTries': '0' }, /proxy\.maxTries: "0" is not an integer from 1 to 16/],
    [{ 'redis.url': 'http://x' }, /redis\.url: "http:\/\/x" is not a redis:\/\/ or rediss:\/\/ URL/],
    [{ 'node.admin': 'nope' }, /node\.admin: "nope" is not HOST:PORT/],
    [{ 'proxy.nope': '1' }, /unknown key "proxy\.nope"/],
    [{ 'tasks.portRange': '9-1' }, /tasks\.portRange: "9-1" is not a port range/]
  ]
  for (const [overrides, message] of cases) {
    t.throws(() => loadConfig({ env: {}, overrides }), message, Object.keys(overrides)[0])
    try { loadConfig({ env: {}, overrides }) } catch (err) { t.ok(isMeshError(err, 'MESH_ERR_CONFIG'), 'coded MESH_ERR_CONFIG') }
  }
  t.throws(() => loadConfig({ env: { MESH_HEALTH_RISE: 'x' } }), /health\.rise: "x"/, 'env values are validated too')
  const dir = mkdtempSync(join(tmpdir(), 'mesh-config-'))
  writeFileSync(join(dir, 'bad.yaml'), 'proxy: [1, 2]\n')
  t.throws(() => loadConfig({ env: {}, file: join(dir, 'bad.yaml') }), /"proxy" must be a mapping/)
  t.throws(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') }), /cannot be read \(ENOENT\)/)
})

t.test('a cluster file layer sits above the defaults, below --config, env and flags', async (t) => {
  const cluster = { file: '/x/.mesh/cluster.json', values: { 'redis.url': 'redis://127.0.0.1:7001', 'redis.prefix': 'lab:', 'proxy.maxTries': '2' } }
  const c = loadConfig({ env: {}, cluster })
  t.equal(c.redis.url, 'redis://127.0.0.1:7001')
  t.equal(c.redis.prefix, 'lab:', 'every key of the cluster, not only its URL')
  t.equal(loadConfig({ env: { MESH_REDIS_PREFIX: 'env:' }, cluster }).redis.prefix, 'env:', 'env beats the cluster file')
  t.equal(loadConfig({ env: {}, cluster, overrides: { 'redis.url': 'redis://127.0.0.1:7002' } }).redis.url, 'redis://127.0.0.1:7002', 'a flag beats it')
  t.throws(() => loadConfig({ env: {}, cluster: { file: '/x/.mesh/cluster.json', values: { 'proxy.nope': '1' } } }), /\/x\/\.mesh\/cluster\.json: unknown key "proxy\.nope"/, 'a bad key names the file')
})

t.test('no password in an error message', async (t) => {
  const secret = 's3cr3t-pw'
  const cases: Array<Record<string, unknown>> = [
    { 'redis.url': `http://user:${secret}@example.test:6379` },
    { 'redis.url': `redis://:${secret}@exa mple.test:6379` },
    { 'redis.url': `redis://:p@ss@${secret}@` },
    { 'redis.url': `ftp://example.test/?password=${secret}` }
  ]
  for (const overrides of cases) {
    try {
      loadConfig({ env: {}, overrides })
      t.fail(`accepted ${String(overrides['redis.url'])}`)
    } catch (err) {
      t.ok(isMeshError(err, 'MESH_ERR_CONFIG'))
      t.notMatch((err as Error).message, secret, `redacted: ${(err as Error).message}`)
      t.match((err as Error).message, /\*\*\*/)
    }
  }
  const { envWithout, inheritedTaskEnv } = await import('../../lib/config/load')
  t.same(inheritedTaskEnv({ PATH: '/bin', HOME: '/root', LANG: 'C', TZ: 'UTC', AWS_SECRET_ACCESS_KEY: 'x', MESH_REDIS_URL: 'redis://:x@h' }),
    { PATH: '/bin', HOME: '/root', LANG: 'C', TZ: 'UTC' }, 'a task inherits PATH, HOME, LANG, TZ and nothing else')
  t.same(envWithout(['redis.url', 'redis.prefix'], { MESH_REDIS_URL: 'a', MESH_REDIS_PREFIX: 'b', MESH_PROXY_MAX_TRIES: '2', PATH: '/bin' }),
    { MESH_PROXY_MAX_TRIES: '2', PATH: '/bin' })
})
