/**
 * `mesh cert create|ls|inspect|update|rm` through the real CLI against a
 * real Redis: the round trip, the cluster's ticket keys created with the
 * first certificate, no key ever printed, every bad input refused with its
 * message and exit code and nothing written; and end to end, a node serving
 * an https port with the certificate created, and the replaced one after
 * `mesh cert update` on new handshakes while an open connection goes on.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { Backend } from '../helpers/backend'
import { MeshNode } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { makeCerts } from '../helpers/tls-certs'
import { bodyOf, getOnTls, handshake, type Hello } from '../helpers/tls-client'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'
import { dump, mesh, meshAll } from './mesh'

interface Pair { cert: string, key: string }

/** A self-signed ECDSA P-256 certificate for `sans` (DNS names), files in `dir`. */
function selfSigned (dir: string, name: string, sans: string[]): Pair {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=${sans[0]}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`], { stdio: 'ignore' })
  return { cert, key }
}

const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256

/** The body lines of a PEM key file: none may appear in any output. */
const keyLines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('-----'))

t.test('cert create, ls, inspect, update, rm', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const dir = mkdtempSync(join(tmpdir(), 'mesh-cert-cli-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const store = new RegistryStore(redis, 'mesh:')
  const a = selfSigned(dir, 'a', ['a.example', '*.a.example'])
  const b = selfSigned(dir, 'b', ['b.example'])
  const a2 = selfSigned(dir, 'a2', ['a.example'])
  const secrets = [...keyLines(a.key), ...keyLines(b.key), ...keyLines(a2.key)]
  const printed: string[] = []
  const run = async (args: string[]) => {
    const res = await mesh(r.url, args)
    printed.push(res.stdout, res.stderr)
    return res
  }
  const ok = async (args: string[]): Promise<string> => {
    const res = await run(args)
    t.equal(res.code, 0, `mesh ${args.join(' ')}: ${res.stderr}`)
    return res.stdout
  }

  // create: prints the name; the first one creates the ticket keys in the same write.
  t.equal(await ok(['cert', 'create', 'site', '--cert', a.cert, '--key', a.key]), 'site\n')
  let snap = await store.snapshot()
  const tickets = snap.parts.tls.get('tickets')
  t.match(tickets?.ticketKeys, /^[0-9a-f]{96}$/, '48 random bytes, hex')
  t.match(snap.parts.certs.get('site'), { v: 1, name: 'site', cert: /^-----BEGIN CERTIFICATE-----\n/, key: /^-----BEGIN PRIVATE KEY-----\n/ })
  t.equal(await ok(['cert', 'create', 'other', '--cert', b.cert, '--key', b.key]), 'other\n')
  snap = await store.snapshot()
  t.same(snap.parts.tls.get('tickets'), tickets, 'the ticket keys are made once')

  // Help and completion come from the flag specs and the command table; certificate names from the registry.
  const help = await ok(['help', 'cert', 'create'])
  t.match(help, /Usage: +mesh cert create .*NAME --cert FILE --key FILE/)
  t.match(help, /\n +--cert FILE +PEM file of the certificate chain/)
  t.match(help, /\n +--key FILE +PEM file of the leaf's private key/)
  t.match(await ok(['--help']), /\n +cert +Manage TLS certificates\n/)
  t.equal(await ok(['__complete', 'bash', 'cert', '']), 'create\nls\ninspect\nupdate\nrm\n')
  t.equal(await ok(['__complete', 'bash', 'cert', 'rm', '']), 'other\nsite\n')
  t.equal(await ok(['__complete', 'bash', 'service', 'create', '--backend', '']), 'http1\nh2c\nh2\n')
  const flags = (await ok(['__complete', 'bash', 'service', 'update', '--'])).split('\n')
  for (const f of ['--cert', '--redirect-https', '--backend', '--proxy-protocol']) t.ok(flags.includes(f), `completion offers ${f}`)
  t.match(await ok(['completion', 'bash']), /mesh __complete bash/)

  // ls: NAME DNS NAMES NOT AFTER UPDATED, by name; -q; --format.
  const ls = await ok(['cert', 'ls'])
  t.match(ls, /^NAME {2,}DNS NAMES {2,}NOT AFTER {2,}UPDATED\n/)
  t.match(ls, /\nother {2,}b\.example {2,}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2,}(Less than a second|1 second|\d+ seconds) ago\n/)
  t.match(ls, /\nsite {2,}a\.example,\*\.a\.example {2,}\d{4}-/)
  t.equal(await ok(['cert', 'ls', '-q']), 'other\nsite\n')
  t.equal(await ok(['cert', 'ls', '--format', '{{.Name}}: {{.DnsNames}}']), 'other: b.example\nsite: a.example,*.a.example\n')
  t.match(JSON.parse((await ok(['cert', 'ls', '--format', 'json'])).split('\n')[1]), { Name: 'site', DnsNames: 'a.example,*.a.example' })

  // inspect: what the certificate is, never its key.
  await ok(['service', 'create', '--name', 'web', '--publish', '443:80/https', '--cert', 'site', '--endpoint', '127.0.0.51:80'])
  const inspected = JSON.parse(await ok(['cert', 'inspect', 'site'])) as Array<Record<string, unknown>>
  t.equal(inspected.length, 1)
  t.match(inspected[0], {
    name: 'site', names: ['a.example', '*.a.example'], subject: 'CN=a.example', fingerprint: fingerprint(a.cert),
    keyType: 'ec prime256v1', chainLength: 1, services: ['web'], notAfter: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
  })
  t.notOk('key' in inspected[0], 'no key field')
  t.equal(await ok(['cert', 'inspect', '--format', '{{.name}} {{json .services}}', 'site', 'other']), 'site ["web"]\nother []\n')
  const some = await run(['cert', 'inspect', 'site', 'nosuch'])
  t.equal(some.code, 1, 'inspect of a missing name exits 1')
  t.match(some.stderr, /^mesh: error: no such certificate: nosuch\n$/)
  t.match(JSON.parse(some.stdout), [{ name: 'site' }], 'the ones found are printed')

  // update: new chain and key, same createdAt, the service unchanged.
  snap = await store.snapshot()
  const before = snap.parts.certs.get('site')
  const webBefore = snap.services.get('web')
  t.equal(await ok(['cert', 'update', 'site', '--cert', a2.cert, '--key', a2.key]), 'site\n')
  snap = await store.snapshot()
  const after = snap.parts.certs.get('site')
  t.equal(after?.createdAt, before?.createdAt)
  t.ok((after?.updatedAt ?? 0) >= (before?.updatedAt ?? Infinity))
  t.equal(new X509Certificate(after?.cert ?? '').fingerprint256, fingerprint(a2.cert))
  t.equal(after?.key, readFileSync(a2.key, 'utf8'))
  t.same(snap.services.get('web'), webBefore, 'services naming it need no change')
  t.same(snap.parts.tls.get('tickets'), tickets)

  // rm: a certificate in use is refused, naming the service; docker's semantics for several names.
  let res = await run(['cert', 'rm', 'site'])
  t.equal(res.code, 1)
  t.match(res.stderr, /^mesh: error: certificate site is in use by service web \(--cert\); give it another first \(mesh service update web --cert OTHER, or --cert ''\)\n$/)
  t.equal(res.stdout, '')
  t.ok((await store.snapshot()).parts.certs.has('site'), 'still there')
  res = await run(['cert', 'rm', 'other', 'nosuch', 'site'])
  t.equal(res.code, 1)
  t.equal(res.stdout, 'other\n', 'the one that could go went')
  t.match(res.stderr, /no such certificate: nosuch\n.*certificate site is in use by service web/s)
  snap = await store.snapshot()
  t.same([...snap.parts.certs.keys()], ['site'])
  await ok(['service', 'update', 'web', '--cert', '', '--detach'])
  t.equal(await ok(['cert', 'rm', 'site']), 'site\n')
  snap = await store.snapshot()
  t.equal(snap.parts.certs.size, 0)
  t.same(snap.parts.tls.get('tickets'), tickets, 'the ticket keys stay')
  t.equal(await ok(['cert', 'ls', '-q']), '')

  const all = printed.join('\n')
  t.notOk(all.includes('PRIVATE KEY'), 'no output says PRIVATE KEY')
  t.notOk(secrets.some((l) => all.includes(l)), 'no output holds a line of a key')
})

t.test('cert commands: bad input', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const certs = makeCerts()
  t.teardown(() => { certs.remove() })
  const dir = certs.dir
  const text = join(dir, 'notes.txt')
  writeFileSync(text, 'not a certificate\n')
  const both = join(dir, 'both.pem')
  writeFileSync(both, readFileSync(certs.serverCert, 'utf8') + readFileSync(certs.serverKey, 'utf8') + readFileSync(certs.clientKey, 'utf8'))
  const broken = join(dir, 'broken.crt')
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
  const encrypted = join(dir, 'enc.key')
  execFileSync('openssl', ['pkey', '-in', certs.serverKey, '-out', encrypted, '-aes256', '-passout', 'pass:secret'], { stdio: 'ignore' })
  t.equal((await mesh(r.url, ['cert', 'create', 'site', '--cert', certs.serverCert, '--key', certs.serverKey])).code, 0)
  await mesh(r.url, ['service', 'create', '--name', 'web', '--publish', '443:80/https', '--cert', 'site', '--endpoint', '127.0.0.52:80'])
  const before = await dump(redis)

  const s = certs.serverCert
  const k = certs.serverKey
  const bad: Array<[string, string[], number, RegExp]> = [
    ['missing cert file', ['cert', 'create', 'x', '--cert', join(dir, 'nope.crt'), '--key', k], 1, /--cert \S+nope\.crt: no such file/],
    ['missing key file', ['cert', 'create', 'x', '--cert', s, '--key', join(dir, 'nope.key')], 1, /--key \S+nope\.key: no such file/],
    ['a directory', ['cert', 'create', 'x', '--cert', dir, '--key', k], 1, /--cert \S+: not a file/],
    ['cert file not PEM', ['cert', 'create', 'x', '--cert', text, '--key', k], 1, /--cert \S+notes\.txt: holds no PEM certificate/],
    ['key given as the cert', ['cert', 'create', 'x', '--cert', k, '--key', k], 1, /--cert \S+server\.key: holds no PEM certificate/],
    ['cert given as the key', ['cert', 'create', 'x', '--cert', s, '--key', s], 1, /--key \S+server\.crt: holds no PEM private key/],
    ['a broken certificate', ['cert', 'create', 'x', '--cert', broken, '--key', k], 1, /certificate 1 of 1 is not a valid X\.509 certificate/],
    ['two keys', ['cert', 'create', 'x', '--cert', s, '--key', both], 1, /--key \S+both\.pem: holds 2 private keys/],
    ['encrypted key', ['cert', 'create', 'x', '--cert', s, '--key', encrypted], 1, /--key \S+enc\.key: the key is encrypted; give it unencrypted/],
    ['mismatched key', ['cert', 'create', 'x', '--cert', s, '--key', certs.clientKey], 1, /--key \S+client\.key does not match the certificate in --cert \S+server\.crt/],
    ['mismatched key on update', ['cert', 'update', 'site', '--cert', certs.clientCert, '--key', k], 1, /--key \S+server\.key does not match the certificate in --cert \S+client\.crt/],
    ['name taken', ['cert', 'create', 'site', '--cert', s, '--key', k], 1, /certificate site already exists; replace it with mesh cert update site/],
    ['bad name', ['cert', 'create', 'a/b', '--cert', s, '--key', k], 2, /certificate name: "a\/b" is not a valid certificate name/],
    ['missing --key', ['cert', 'create', 'x', '--cert', s], 2, /missing --key FILE/],
    ['missing --cert', ['cert', 'update', 'site', '--key', k], 2, /missing --cert FILE/],
    ['missing name', ['cert', 'create', '--cert', s, '--key', k], 2, /missing certificate name/],
    ['update unknown', ['cert', 'update', 'nosuch', '--cert', s, '--key', k], 1, /no such certificate: nosuch/],
    ['rm unknown', ['cert', 'rm', 'nosuch'], 1, /no such certificate: nosuch/],
    ['rm in use', ['cert', 'rm', 'site'], 1, /certificate site is in use by service web/],
    ['inspect unknown', ['cert', 'inspect', 'nosuch'], 1, /no such certificate: nosuch/],
    ['unknown subcommand', ['cert', 'delete', 'site'], 2, /unknown command "mesh cert delete"/]
  ]
  const results = await meshAll(r.url, bad.map(([, args]) => args))
  const keys = [...keyLines(certs.serverKey), ...keyLines(certs.clientKey)]
  bad.forEach(([what, , code, message], i) => {
    t.equal(results[i].code, code, `${what}: exit ${code} (${results[i].stderr.trim()})`)
    t.match(results[i].stderr, /^mesh: error: [^\n]+\n$/, `${what}: one error line`)
    t.match(results[i].stderr, message, `${what}: names the bad value`)
    t.notOk(keys.some((l) => results[i].stderr.includes(l) || results[i].stdout.includes(l)), `${what}: no key in the output`)
  })
  t.equal(await dump(redis), before, 'registry unchanged by every bad command')
})

const hello = async (host: string, port: number, servername: string): Promise<Hello> => await handshake(host, port, servername)

/** One GET / on an open TLS socket (keep-alive); resolves with the body. */
async function get (s: TLSSocket, host: string): Promise<string> {
  return bodyOf(await getOnTls(s, host, '/'))
}

t.test('a node serves the https port with the created certificate, and the replaced one after cert update', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const dir = mkdtempSync(join(tmpdir(), 'mesh-cert-e2e-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const first = selfSigned(dir, 'first', ['site.example'])
  const second = selfSigned(dir, 'second', ['site.example'])
  const backend = await Backend.start('b1')
  t.teardown(async () => { await backend.close() })
  const addr = loopback()
  const node = await MeshNode.start('n1', addr, r.url)
  t.teardown(async () => { await node.stop() })
  const ok = async (args: string[]): Promise<void> => {
    const res = await mesh(r.url, args)
    t.equal(res.code, 0, `mesh ${args.join(' ')}: ${res.stderr}`)
  }
  await ok(['cert', 'create', 'site', '--cert', first.cert, '--key', first.key])
  await ok(['service', 'create', '--name', 'web', '--publish', '8443:80/https', '--cert', 'site', '--endpoint', `${backend.host}:${backend.port}`])

  // Its DNS name, and a name no certificate carries (the port's default: --cert site).
  for (const sni of ['site.example', 'unknown.example']) {
    const h = await waitFor(async () => {
      const h = await hello(addr, 8443, sni).catch(() => null)
      if (h !== null && h.fingerprint !== fingerprint(first.cert)) h.socket.destroy()
      return h?.fingerprint === fingerprint(first.cert) ? h : null
    }, { timeout: 10_000, what: `the created certificate on ${addr}:8443 for ${sni} (log: ${node.log})` })
    t.equal(await get(h.socket, sni), 'b1\n', `${sni}: the backend answers through TLS`)
    h.socket.destroy()
  }

  // Replaced: new handshakes get the new certificate; a connection already up goes on.
  const open = await hello(addr, 8443, 'site.example')
  t.equal(open.fingerprint, fingerprint(first.cert))
  const started = Date.now()
  await ok(['cert', 'update', 'site', '--cert', second.cert, '--key', second.key])
  const fresh = await waitFor(async () => {
    const h = await hello(addr, 8443, 'site.example')
    if (h.fingerprint !== fingerprint(second.cert)) { h.socket.destroy(); return null }
    return h
  }, { timeout: 5000, interval: 10, what: 'the replaced certificate on new handshakes' })
  t.comment(`new handshakes got the replaced certificate ${Date.now() - started} ms after mesh cert update began (CLI start-up included)`)
  t.equal(await get(fresh.socket, 'site.example'), 'b1\n')
  t.equal(await get(open.socket, 'site.example'), 'b1\n', 'the connection opened before the update still answers')
  fresh.socket.destroy()
  open.socket.destroy()
})
