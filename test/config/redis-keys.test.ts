import t from 'tap'
import type { Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../lib/config/load'
import { isMeshError } from '../../lib/errors'
import { makeCerts } from '../helpers/tls-certs'

const refused = (t: Test, overrides: Record<string, unknown>, message: RegExp, what: string): void => {
  try {
    loadConfig({ env: {}, overrides })
    t.fail(`accepted: ${what}`)
  } catch (err) {
    t.ok(isMeshError(err, 'MESH_ERR_CONFIG'), `${what}: MESH_ERR_CONFIG`)
    t.match((err as Error).message, message, what)
  }
}

t.test('TLS files: checked at start, each error naming its key', async (t) => {
  const certs = makeCerts()
  t.teardown(() => { certs.remove() })
  const tls = { 'redis.url': 'rediss://127.0.0.1:6380', 'redis.tlsCa': certs.ca, 'redis.tlsCert': certs.clientCert, 'redis.tlsKey': certs.clientKey }
  const c = loadConfig({ env: {}, overrides: tls })
  t.equal(c.redis.tlsCa, certs.ca, 'accepted as absolute paths')
  t.equal(loadConfig({ env: {} }).redis.tlsCa, '', 'none by default')

  refused(t, { ...tls, 'redis.tlsCa': join(certs.dir, 'nope.pem') }, /config key redis\.tlsCa: ".*nope\.pem" cannot be read \(ENOENT\)/, 'a missing CA file')
  refused(t, { ...tls, 'redis.tlsKey': certs.dir }, /config key redis\.tlsKey: ".*" is not a file/, 'a directory')
  refused(t, { ...tls, 'redis.url': 'redis://127.0.0.1:6379' }, /config key redis\.tlsCa is set .*redis\.url redis:\/\/127\.0\.0\.1:6379 does not use TLS: write rediss:\/\//, 'TLS files with a plain URL')
  refused(t, { ...tls, 'redis.tlsKey': '' }, /redis\.tlsCert is set but redis\.tlsKey is not/, 'a certificate without its key')
  refused(t, { ...tls, 'redis.tlsCert': '' }, /redis\.tlsKey is set but redis\.tlsCert is not/, 'a key without its certificate')
  const junk = join(certs.dir, 'junk.pem')
  writeFileSync(junk, 'not a certificate\n')
  refused(t, { ...tls, 'redis.tlsCa': junk }, /config key redis\.tlsCa: .*junk\.pem holds no PEM certificate/, 'a CA file that is no certificate')
  refused(t, { ...tls, 'redis.tlsKey': certs.ca }, /config key redis\.tlsKey: .*ca\.crt holds no PEM private key/, 'a certificate where the key goes')
  refused(t, { ...tls, 'redis.tlsKey': certs.serverKey }, /redis\.tlsCert and redis\.tlsKey: .*server\.key is not the private key of the certificate in .*client\.crt/, 'a key of another certificate')
  t.ok(loadConfig({ env: {}, overrides: { 'redis.url': 'rediss+sentinel://h1,h2,h3/mesh', 'redis.tlsCa': certs.ca } }), 'the TLS Sentinel form takes them too')
})

t.test('redis.waitReplicas: auto is 1 through Sentinel, 0 for one server; a number as given', async (t) => {
  t.equal(loadConfig({ env: {} }).redis.waitReplicas, 0, 'one server: writes do not wait')
  t.equal(loadConfig({ env: {}, overrides: { 'redis.url': 'redis+sentinel://h1,h2,h3/mesh' } }).redis.waitReplicas, 1, 'Sentinel: one replica')
  t.equal(loadConfig({ env: { MESH_REDIS_WAIT_REPLICAS: '2' } }).redis.waitReplicas, 2, 'set: as given')
  t.equal(loadConfig({ env: {}, overrides: { 'redis.url': 'redis+sentinel://h1/mesh', 'redis.waitReplicas': '0' } }).redis.waitReplicas, 0, '0 turns it off')
  t.equal(loadConfig({ env: {} }).redis.waitTimeout, 1000)
  refused(t, { 'redis.url': 'redis+sentinel://h1/mesh', 'node.heartbeatTtl': '1s' }, /config key redis\.waitTimeout: 1000 ms is more than half of node\.heartbeatTtl \(1000 ms\).*heartbeats wait behind it/,
    'a wait longer than half a heartbeat TTL')
  t.ok(loadConfig({ env: {}, overrides: { 'redis.url': 'redis+sentinel://h1/mesh', 'node.heartbeatTtl': '1s', 'redis.waitTimeout': '400ms' } }), 'a shorter wait fits')
  t.ok(loadConfig({ env: {}, overrides: { 'node.heartbeatTtl': '1s' } }), 'no wait (one server): no such limit')
  refused(t, { 'redis.waitReplicas': 'some' }, /redis\.waitReplicas: "some" is not auto or an integer from 0 to 16/, 'a word')
  refused(t, { 'redis.waitReplicas': '17' }, /is not auto or an integer from 0 to 16/, 'too many')
  const dir = mkdtempSync(join(tmpdir(), 'mesh-config-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'c.yaml'), 'redis:\n  waitReplicas: 1\n  waitTimeout: 250ms\n')
  const c = loadConfig({ env: {}, file: join(dir, 'c.yaml') })
  t.same([c.redis.waitReplicas, c.redis.waitTimeout], [1, 250], 'from a config file')
})
