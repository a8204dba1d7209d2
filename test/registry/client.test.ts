/**
 * The registry's connections as a user configures them: rediss:// with a CA
 * and a client certificate, and redis+sentinel:// to a master the sentinels
 * name, with writes that wait for a replica and say so when none has them.
 * Real redis-server and redis-sentinel processes, the real CLI and daemon.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { Backend } from '../helpers/backend'
import { httpGet, mesh, MeshNode } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { SentinelSet } from '../helpers/sentinel'
import { makeCerts } from '../helpers/tls-certs'
import { waitFor } from '../helpers/wait'

t.test('rediss:// with redis.tlsCa, tlsCert and tlsKey: the CLI and a node use them; no certificate, or another CA, gets no registry', async (t) => {
  const certs = makeCerts()
  const dir = mkdtempSync(join(tmpdir(), 'mesh-redis-tls-'))
  const port = await freePort()
  const server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'yes', '--loglevel', 'warning'], { stdio: 'ignore' })
  t.teardown(async () => {
    if (server.exitCode === null) await new Promise<void>((resolve) => { server.once('exit', () => { resolve() }); server.kill('SIGKILL') })
    rmSync(dir, { recursive: true, force: true })
    certs.remove()
  })
  const url = `rediss://127.0.0.1:${port}`
  const tls = { MESH_REDIS_TLS_CA: certs.ca, MESH_REDIS_TLS_CERT: certs.clientCert, MESH_REDIS_TLS_KEY: certs.clientKey }
  await waitFor(async () => (await mesh(['init', '--registry-only'], url, tls)).code === 0, { what: 'mesh init over TLS' })

  const backend = await Backend.start('tls-backend')
  t.teardown(async () => { await backend.close() })
  const published = await freePort('127.0.0.1')
  const created = await mesh(['service', 'create', '--name', 'web', '--publish', `${published}:80`, '--endpoint', backend.address], url, tls)
  t.equal(created.code, 0, `service created over TLS ${created.stderr}`)
  const ls = await mesh(['service', 'ls'], url, tls)
  t.match(ls.stdout, /web/, 'and read back')

  const node = await MeshNode.start('tls1', loopback(), url, ['--set', `redis.tlsCa=${certs.ca}`, '--set', `redis.tlsCert=${certs.clientCert}`, '--set', `redis.tlsKey=${certs.clientKey}`])
  t.teardown(async () => { await node.stop() })
  await waitFor(async () => (await httpGet(`http://${node.addr}:${published}/`)).body === 'tls-backend\n', { what: 'the node serving web, read over TLS' })
  const healthz = (await httpGet(`http://${node.admin}/healthz`)).body
  t.match(healthz, /"registry_up":true/, `the daemon is connected over TLS: ${healthz}`)

  const noCert = await mesh(['service', 'ls'], url, { MESH_REDIS_TLS_CA: certs.ca })
  t.not(noCert.code, 0, 'without a client certificate: refused')
  t.match(noCert.stderr, /registry/i, `and said so: ${noCert.stderr.trim()}`)
  const otherCa = await mesh(['service', 'ls'], url, { ...tls, MESH_REDIS_TLS_CA: certs.otherCa })
  t.not(otherCa.code, 0, 'a server certificate another CA signed: refused')
  t.match(otherCa.stderr, /SELF_SIGNED_CERT_IN_CHAIN/, `and said why: ${otherCa.stderr.trim()}`)
  const missing = await mesh(['service', 'ls'], url, { ...tls, MESH_REDIS_TLS_CA: join(certs.dir, 'gone.pem') })
  t.not(missing.code, 0, 'a CA file that is not there: refused at start')
  t.match(missing.stderr, /config key redis\.tlsCa: ".*gone\.pem" cannot be read \(ENOENT\)/, 'naming the key')
})

t.test('redis+sentinel://: the master the sentinels name; a write waits for its replica, and says so when none acknowledges', async (t) => {
  const password = 'sentinel-test-pw-9f3'
  const set = await SentinelSet.start({ replicas: 1, sentinels: 1, password })
  t.teardown(async () => { await set.close() })
  const masterPort = await set.masterPort()
  const replicaPort = set.servers.find((s) => s.port !== masterPort)?.port ?? 0
  const init = await mesh(['init', '--registry-only'], set.url)
  t.equal(init.code, 0, `mesh init through the sentinel ${init.stderr}`)
  t.notMatch(init.stdout + init.stderr, password, 'the password is in none of its output')
  t.match(init.stdout, /redis\+sentinel:\/\/:\*\*\*@127\.0\.0\.1:\d+\/mesh/, 'the URL it prints is redacted')

  const replica = set.client(replicaPort)
  t.teardown(() => { replica.disconnect() })
  await replica.connect()
  const created = await mesh(['service', 'create', '--name', 'web', '--publish', `${await freePort()}:80`, '--endpoint', '127.0.0.1:9'], set.url)
  t.equal(created.code, 0, `a write through Sentinel ${created.stderr}`)
  t.notMatch(created.stderr, /replica/, 'acknowledged by the replica: no warning')
  t.ok(await replica.hget('mesh:services', 'web'), 'the replica has it the moment the CLI is done')

  // The replica stops acknowledging (SIGSTOP): the write stands, after redis.waitTimeout, with a warning.
  const { proc } = set.serverOn(replicaPort)
  proc.kill('SIGSTOP')
  t.teardown(() => { proc.kill('SIGCONT') })
  const started = Date.now()
  const unconfirmed = await mesh(['service', 'update', 'web', '--endpoint-add', '127.0.0.1:10'], set.url, { MESH_REDIS_WAIT_TIMEOUT: '300ms' })
  const took = Date.now() - started
  proc.kill('SIGCONT')
  t.equal(unconfirmed.code, 0, `the write stands ${unconfirmed.stderr}`)
  t.match(unconfirmed.stderr, /registry write at revision \d+ reached no replica within 300 ms \(Redis WAIT\): it is on the master only, and a failover before a replica has it loses it/, 'and says no replica has it')
  t.ok(took >= 300, `it waited redis.waitTimeout (${took} ms)`)
  const off = await mesh(['service', 'update', 'web', '--endpoint-rm', '127.0.0.1:10'], set.url, { MESH_REDIS_WAIT_REPLICAS: '0' })
  t.equal(off.code, 0, off.stderr)
  t.notMatch(off.stderr, /replica/, 'redis.waitReplicas 0: no WAIT, no warning')

  const sentinelPort = set.sentinels[0].port
  const wrong = await mesh(['service', 'ls'], `redis+sentinel://:${password}@127.0.0.1:${sentinelPort}/nosuch`)
  t.not(wrong.code, 0, 'a master the sentinels do not know: no registry')
  t.match(wrong.stderr, /MESH_ERR_REGISTRY_UNREACHABLE|registry/, wrong.stderr.trim())
  t.notMatch(wrong.stderr + wrong.stdout, password, 'its password in no message')
  const bad = await mesh(['service', 'ls'], `redis+sentinel://:${password}@127.0.0.1:${sentinelPort},127.0.0.1:0/mesh`)
  t.not(bad.code, 0)
  t.match(bad.stderr, /config key redis\.url: "redis\+sentinel:\/\/:\*\*\*@127\.0\.0\.1:\d+,127\.0\.0\.1:0\/mesh" has sentinel "127\.0\.0\.1:0": port "0" is not 1-65535/, 'a bad URL names its bad part')
  t.notMatch(bad.stderr, password)

  // The daemon's own connections (command and feed) are on the master, by name.
  // The test timings' 1 s heartbeat TTL needs a replica wait of at most half of it (README: redis.waitTimeout).
  const node = await MeshNode.start('s1', loopback(), set.url, ['--set', 'redis.waitTimeout=400ms'])
  t.teardown(async () => { await node.stop() })
  const admin = new Redis(masterPort, '127.0.0.1', { password, lazyConnect: true, retryStrategy: () => null })
  admin.on('error', () => {})
  t.teardown(() => { admin.disconnect() })
  await admin.connect()
  await waitFor(async () => /name=mesh:s1:cmd/.test(await admin.client('LIST') as string) && /name=mesh:s1:feed/.test(await admin.client('LIST') as string), { what: 'the node connected to the master' })
  t.notMatch(node.log, password, 'nor in the daemon log')
})

t.test('rediss+sentinel://: TLS to the sentinels and to the master they name, with the same CA and client certificate', async (t) => {
  const certs = makeCerts()
  t.teardown(() => { certs.remove() })
  const set = await SentinelSet.start({ replicas: 1, sentinels: 1, tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCert: certs.clientCert, clientKey: certs.clientKey } })
  t.teardown(async () => { await set.close() })
  t.match(set.url, /^rediss\+sentinel:\/\//)
  const tls = { MESH_REDIS_TLS_CA: certs.ca, MESH_REDIS_TLS_CERT: certs.clientCert, MESH_REDIS_TLS_KEY: certs.clientKey }
  const init = await mesh(['init', '--registry-only'], set.url, tls)
  t.equal(init.code, 0, `mesh init over TLS through the sentinel ${init.stderr}`)
  const created = await mesh(['service', 'create', '--name', 'web', '--publish', `${await freePort()}:80`, '--endpoint', '127.0.0.1:9'], set.url, tls)
  t.equal(created.code, 0, created.stderr)
  t.notMatch(created.stderr, /replica/, 'acknowledged by the replica, over TLS replication')
  const replica = set.client(set.servers[1].port)
  t.teardown(() => { replica.disconnect() })
  await replica.connect()
  t.ok(await replica.hget('mesh:services', 'web'), 'on the replica')
  const plain = await mesh(['service', 'ls'], set.url, { MESH_REDIS_TLS_CA: certs.otherCa, MESH_REDIS_TLS_CERT: certs.clientCert, MESH_REDIS_TLS_KEY: certs.clientKey })
  t.not(plain.code, 0, 'sentinels whose certificate another CA signed: no registry')
})
