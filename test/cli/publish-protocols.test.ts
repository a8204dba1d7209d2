/**
 * `--publish PUB:TARGET/http|https|tcp|tls|udp` and the route options
 * (--cert, --redirect-https, --backend, --proxy-protocol) through the real
 * CLI against a real Redis: what is stored, what service ls and inspect
 * show, which changes roll the tasks (ports) and which do not (options), and
 * every bad input refused with its message and exit code, nothing written.
 */
import t from 'tap'
import { makeCerts } from '../helpers/tls-certs'
import { TestRedis } from '../helpers/redis'
import { RegistryStore } from '../../lib/registry/store'
import { dump, mesh, meshAll } from './mesh'

t.test('publish protocols and route options', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const certs = makeCerts()
  t.teardown(() => { certs.remove() })
  const store = new RegistryStore(redis, 'mesh:')
  const spec = async (name: string) => (await store.snapshot()).services.get(name)
  const ok = async (args: string[]): Promise<string> => {
    const res = await mesh(r.url, args)
    t.equal(res.code, 0, `mesh ${args.join(' ')}: ${res.stderr}`)
    return res.stdout
  }

  await ok(['cert', 'create', 'site', '--cert', certs.serverCert, '--key', certs.serverKey])

  // DNS on 53/udp and 53/tcp, one service.
  await ok(['service', 'create', '--name', 'dns', '--publish', '53:53/udp', '--publish', '53:53/tcp', '--endpoint', '127.0.0.41:53'])
  t.match(await spec('dns'), {
    ports: [{ published: 53, target: 53, protocol: 'udp' }, { published: 53, target: 53, protocol: 'tcp' }],
    options: { backend: 'http1', cert: null, proxyProtocol: 0, redirectHttps: false }
  })
  // A different service takes 5353/tcp while another holds 5353/udp: separate port spaces.
  await ok(['service', 'create', '--name', 'u1', '--publish', '5353:53/udp', '--endpoint', '127.0.0.42:53'])
  await ok(['service', 'create', '--name', 't1', '--publish', '5353:53/tcp', '--endpoint', '127.0.0.43:53', '--proxy-protocol', 'v2'])
  t.match(await spec('t1'), { options: { proxyProtocol: 2 } })

  // HTTPS with its certificate, an HTTP port redirecting to it, gRPC-style backend.
  await ok(['service', 'create', '--name', 'web', '--publish', '443:80/https', '--publish', '80:80', '--host', 'a.example',
    '--cert', 'site', '--redirect-https', '--backend', 'h2c', '--endpoint', '127.0.0.44:80'])
  t.match(await spec('web'), {
    ports: [{ published: 443, target: 80, protocol: 'https' }, { published: 80, target: 80, protocol: 'http' }],
    hosts: ['a.example'],
    options: { backend: 'h2c', cert: 'site', proxyProtocol: 0, redirectHttps: true }
  })
  // Shared https and tls ports by --host (SNI for tls).
  await ok(['service', 'create', '--name', 'web2', '--publish', '443:80/https', '--host', 'b.example', '--endpoint', '127.0.0.45:80'])
  await ok(['service', 'create', '--name', 'pass1', '--publish', '8443:443/tls', '--host', 'p.example', '--proxy-protocol', '1', '--endpoint', '127.0.0.46:443'])
  await ok(['service', 'create', '--name', 'pass2', '--publish', '8443:443/tls', '--host', 'q.example', '--endpoint', '127.0.0.47:443'])

  // service ls: docker's form for http and tcp, the protocol for the others.
  const ls = await ok(['service', 'ls', '--format', '{{.Name}} {{.Ports}} | {{.Routing}}'])
  t.match(ls, /^dns \*:53->53\/udp, \*:53->53\/tcp \| L4$/m)
  t.match(ls, /^web \*:443->80\/https, \*:80->80\/tcp \| L7$/m)
  t.match(ls, /^pass1 \*:8443->443\/tls \| L4$/m)
  t.match(ls, /^u1 \*:5353->53\/udp \| L4$/m)
  t.match(ls, /^t1 \*:5353->53\/tcp \| L4$/m)
  // service ps: where the endpoint listens, over UDP and TCP alike.
  t.equal(await ok(['service', 'ps', 'dns', '--format', '{{.Ports}}']), '127.0.0.41:53->53/udp, 127.0.0.41:53->53/tcp\n', 'ps shows 53/udp and 53/tcp')

  // inspect shows the options; a record written before options existed shows the defaults.
  const inspected = JSON.parse(await ok(['service', 'inspect', 'web'])) as Array<Record<string, unknown>>
  t.same(inspected[0].options, { backend: 'h2c', cert: 'site', proxyProtocol: 0, redirectHttps: true })
  const legacy = structuredClone(await spec('u1'))
  if (legacy !== undefined) {
    delete legacy.options
    await store.write([{ type: 'service', id: 'u1', value: legacy }])
  }
  t.same((JSON.parse(await ok(['service', 'inspect', 'u1'])) as Array<Record<string, unknown>>)[0].options,
    { backend: 'http1', cert: null, proxyProtocol: 0, redirectHttps: false })
  t.equal(await ok(['service', 'inspect', '--format', '{{.options.cert}} {{.options.backend}}', 'web']), 'site h2c\n')

  // Options change in place: no version bump, no previous.
  const v = (await spec('web'))?.version
  await ok(['service', 'update', 'web', '--backend', 'http1', '--redirect-https=false', '--detach'])
  t.match(await spec('web'), { version: v, previous: null, options: { backend: 'http1', cert: 'site', redirectHttps: false } })
  await ok(['service', 'update', 'web', '--cert', '', '--detach'])
  t.match(await spec('web'), { version: v, options: { cert: null } })
  await ok(['service', 'update', 'web', '--cert', 'site', '--detach'])
  t.match(await spec('web'), { version: v, options: { cert: 'site' } })
  await ok(['service', 'update', 't1', '--proxy-protocol', '0', '--detach'])
  t.match(await spec('t1'), { version: 1, options: { proxyProtocol: 0 } })
  // A service without options stays without them when no option flag is given.
  await ok(['service', 'update', 'u1', '--stop-grace-period', '3s', '--detach'])
  t.equal((await spec('u1'))?.options, undefined)
  // Ports do roll: --publish-rm one of 53/udp and 53/tcp.
  await ok(['service', 'update', 'dns', '--publish-rm', '53/tcp', '--detach'])
  t.match(await spec('dns'), { version: 2, ports: [{ published: 53, protocol: 'udp' }] })
  await ok(['service', 'update', 'dns', '--publish-add', '53:53/tcp', '--detach'])
  t.match(await spec('dns'), { version: 3, ports: [{ protocol: 'udp' }, { protocol: 'tcp' }] })

  // Bad input: its message, its exit code, nothing written.
  const before = await dump(redis)
  const e = '127.0.0.49:1'
  const bad: Array<[string, string[], number, RegExp]> = [
    ['unknown protocol', ['service', 'create', '--name', 'x', '--publish', '80:80/sctp', '--endpoint', e], 2, /"80:80\/sctp" has protocol "sctp"; use \/http \(the default\), \/https, \/tcp, \/tls or \/udp/],
    ['unknown protocol on update', ['service', 'update', 'web', '--publish-add', '81:80/quic'], 2, /--publish-add: "81:80\/quic" has protocol "quic"/],
    ['bad backend', ['service', 'create', '--name', 'x', '--publish', '80:80', '--backend', 'h3', '--endpoint', e], 2, /--backend: "h3" is not one of http1, h2c, h2/],
    ['bad backend on update', ['service', 'update', 'web', '--backend', 'grpc'], 2, /--backend: "grpc" is not one of http1, h2c, h2/],
    ['bad proxy protocol', ['service', 'create', '--name', 'x', '--publish', '5432:5432/tcp', '--proxy-protocol', '3', '--endpoint', e], 2, /--proxy-protocol: "3" is not one of 0 \(off\)/],
    ['bad redirect value', ['service', 'update', 'web', '--redirect-https=maybe'], 2, /--redirect-https: "maybe" is not true or false/],
    ['unknown cert', ['service', 'create', '--name', 'x', '--publish', '4443:80/https', '--cert', 'nosuch', '--endpoint', e], 1, /--cert nosuch: no such certificate; create it first with mesh cert create nosuch/],
    ['unknown cert on update', ['service', 'update', 'web', '--cert', 'nosuch'], 1, /--cert nosuch: no such certificate/],
    ['malformed cert name', ['service', 'create', '--name', 'x', '--publish', '4443:80/https', '--cert', '../etc', '--endpoint', e], 2, /--cert: "\.\.\/etc" is not a valid certificate name/],
    ['cert without https port', ['service', 'create', '--name', 'x', '--publish', '4080:80', '--cert', 'site', '--endpoint', e], 2, /service x: --cert site is the certificate of https ports, and it publishes none/],
    ['cert left without https port', ['service', 'update', 'web', '--publish-rm', '443'], 2, /service web: --cert site is the certificate of https ports, and it publishes none \(publish one, e\.g\. --publish-add 443:80\/https, or clear it with --cert ''\)/],
    ['proxy protocol on http', ['service', 'create', '--name', 'x', '--publish', '4080:80', '--proxy-protocol', 'v1', '--endpoint', e], 2, /--proxy-protocol 1 applies to tcp and tls ports/],
    ['proxy protocol on udp', ['service', 'update', 'u1', '--proxy-protocol', '2'], 2, /service u1: --proxy-protocol 2 applies to tcp and tls ports \(L4\), and it publishes none \(clear it with --proxy-protocol 0\)/],
    ['h2c backend on tcp', ['service', 'update', 't1', '--backend', 'h2c'], 2, /service t1: --backend h2c applies to http and https ports/],
    ['redirect without http port', ['service', 'create', '--name', 'x', '--publish', '4443:80/https', '--redirect-https', '--endpoint', e], 2, /--redirect-https applies to plain http ports/],
    ['host on udp', ['service', 'create', '--name', 'x', '--publish', '6000:53/udp', '--host', 'a.example', '--endpoint', e], 2, /--host names apply to http, https and tls ports; it publishes only udp ports/],
    ['host-add on tcp', ['service', 'update', 't1', '--host-add', 'a.example'], 2, /service t1: --host names apply to http, https and tls ports; it publishes only tcp ports/],
    ['udp port twice', ['service', 'create', '--name', 'x', '--publish', '6000:53/udp', '--publish', '6000:54/udp', '--endpoint', e], 1, /published port 6000\/udp is given twice/],
    ['udp port taken', ['service', 'create', '--name', 'x', '--publish', '5353:53/udp', '--endpoint', e], 1, /published port 5353 is already used by service u1 \(udp\); a udp port belongs to one service/],
    ['udp port taken on update', ['service', 'update', 'web', '--publish-add', '53:53/udp'], 1, /published port 53 is already used by service dns \(udp\)/],
    ['https port without --host', ['service', 'create', '--name', 'x', '--publish', '443:80/https', '--endpoint', e], 1, /to share an https port, every service on it needs --host names/],
    ['https host taken', ['service', 'create', '--name', 'x', '--publish', '443:80/https', '--host', 'b.example', '--endpoint', e], 1, /service web2 for host b\.example/],
    ['tls port without --host', ['service', 'create', '--name', 'x', '--publish', '8443:443/tls', '--endpoint', e], 1, /to share an tls port, every service on it needs --host names \(the SNI names it answers\)/],
    ['http on an https port', ['service', 'create', '--name', 'x', '--publish', '443:80', '--host', 'c.example', '--endpoint', e], 1, /port 443 is already used by service web as https; one port speaks one protocol \(this one http\)/],
    ['tcp on a tls port', ['service', 'create', '--name', 'x', '--publish', '8443:443/tcp', '--endpoint', e], 1, /service pass1 as tls/],
    ['publish-add over its own port', ['service', 'update', 'dns', '--publish-add', '53:54/udp'], 1, /service dns already publishes port 53 \(udp\); --publish-rm 53\/udp it in the same update/],
    ['publish-rm bad protocol', ['service', 'update', 'dns', '--publish-rm', '53/sctp'], 2, /--publish-rm: "53\/sctp" has protocol "sctp"/],
    ['publish-rm not published', ['service', 'update', 't1', '--publish-rm', '5353/udp'], 2, /--publish-rm 5353\/udp: service t1 does not publish port 5353\/udp/]
  ]
  const results = await meshAll(r.url, bad.map(([, args]) => args))
  bad.forEach(([what, , code, message], i) => {
    t.equal(results[i].code, code, `${what}: exit ${code} (${results[i].stderr.trim()})`)
    t.match(results[i].stderr, /^mesh: error: [^\n]+\n$/, `${what}: one error line`)
    t.match(results[i].stderr, message, `${what}: names the bad value`)
  })
  t.equal(await dump(redis), before, 'registry unchanged by every bad command')
})
