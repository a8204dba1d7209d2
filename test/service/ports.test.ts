import t from 'tap'
import { checkPortConflicts, parsePublish, parsePublishRm } from '../../lib/service/ports'
import type { ServiceSpec } from '../../lib/registry/types'

const svc = (name: string, ports: string[], hosts: string[] = []): ServiceSpec =>
  ({ name, ports: ports.map((p) => parsePublish(p)), hosts } as unknown as ServiceSpec)

t.test('parsePublish', async (t) => {
  t.same(parsePublish('8080:80'), { published: 8080, target: 80, protocol: 'http' })
  t.same(parsePublish('8080:80/http'), { published: 8080, target: 80, protocol: 'http' })
  t.same(parsePublish('5432:5432/tcp'), { published: 5432, target: 5432, protocol: 'tcp' })
  // A bare target (docker's `--publish 80`): published 0 until a free port is assigned when written.
  t.same(parsePublish('80'), { published: 0, target: 80, protocol: 'http' })
  t.same(parsePublish('53/tcp'), { published: 0, target: 53, protocol: 'tcp' })
  t.same(parsePublish('443:80/https'), { published: 443, target: 80, protocol: 'https' })
  t.same(parsePublish('8443:443/tls'), { published: 8443, target: 443, protocol: 'tls' })
  t.same(parsePublish('5353:53/udp'), { published: 5353, target: 53, protocol: 'udp' })
  t.same(parsePublish('53/udp'), { published: 0, target: 53, protocol: 'udp' })
  t.throws(() => parsePublish('8080:80/sctp'), { code: 'MESH_ERR_INVALID_PORT', message: /protocol "sctp"; use \/http \(the default\), \/https, \/tcp, \/tls or \/udp/ })
  t.throws(() => parsePublish('8080:80/h2'), { code: 'MESH_ERR_INVALID_PORT', message: /"8080:80\/h2" has protocol "h2"/ })
  for (const bad of ['8080:', ':80', '0:80', '8080:65536', 'a:b', '8080:80/sctp', '8080:80/HTTP', '1:2:3', '0', '/tcp']) {
    t.throws(() => parsePublish(bad), { code: 'MESH_ERR_INVALID_PORT' }, bad)
  }
})

t.test('who may share a published port', async (t) => {
  const others = [svc('web', ['8080:80']), svc('db', ['5432:5432/tcp']), svc('api', ['9090:80'], ['api.local', '*.example.com'])]
  const ok = (claim: ServiceSpec): void => { checkPortConflicts(claim, others) }
  const conflict = (claim: ServiceSpec, msg: RegExp): void => {
    t.throws(() => { checkPortConflicts(claim, others) }, { code: 'MESH_ERR_PORT_CONFLICT', message: msg })
  }
  conflict(svc('x', ['8080:81']), /port 8080 is already used by service web/)
  conflict(svc('x', ['8080:81'], ['x.local']), /every service on it needs --host/)
  conflict(svc('x', ['5432:1/tcp']), /service db \(tcp\)/)
  conflict(svc('x', ['5432:1']), /service db/)
  conflict(svc('x', ['9090:1']), /service api/)
  conflict(svc('x', ['9090:1'], ['api.local']), /for host api\.local/)
  conflict(svc('x', ['9090:1/tcp']), /service api as http; one port speaks one protocol \(this one tcp\)/)
  conflict(svc('x', ['7000:1', '7000:2']), /port 7000 is given twice/)
  ok(svc('x', ['9090:1'], ['x.local']))
  ok(svc('x', ['9090:1'], ['a.example.com']))
  ok(svc('x', ['7000:1', '7001:1/tcp']))
  ok(svc('web', ['8080:81']))
})

t.test('https, tls and udp ports', async (t) => {
  const others = [
    svc('web', ['443:80/https'], ['a.example']),
    svc('pass', ['8443:443/tls'], ['p.example']),
    svc('dns', ['53:53/udp']),
    svc('plain', ['8080:80'], ['x.example'])
  ]
  const ok = (claim: ServiceSpec): void => { checkPortConflicts(claim, others) }
  const conflict = (claim: ServiceSpec, msg: RegExp): void => {
    t.throws(() => { checkPortConflicts(claim, others) }, { code: 'MESH_ERR_PORT_CONFLICT', message: msg })
  }
  // https and tls ports are shared by --host names, as http.
  ok(svc('x', ['443:80/https'], ['b.example']))
  ok(svc('x', ['8443:443/tls'], ['q.example']))
  conflict(svc('x', ['443:80/https']), /to share an https port, every service on it needs --host names/)
  conflict(svc('x', ['8443:1/tls']), /to share an tls port, every service on it needs --host names \(the SNI names/)
  conflict(svc('x', ['443:80/https'], ['a.example']), /for host a\.example/)
  conflict(svc('x', ['8443:1/tls'], ['p.example']), /for host p\.example/)
  // One port speaks one protocol.
  conflict(svc('x', ['443:80'], ['b.example']), /port 443 is already used by service web as https; one port speaks one protocol \(this one http\)/)
  conflict(svc('x', ['8080:80/https'], ['y.example']), /service plain as http/)
  conflict(svc('x', ['8443:1/tcp']), /service pass as tls/)
  // udp: its own port space, one service per port.
  conflict(svc('x', ['53:53/udp']), /port 53 is already used by service dns \(udp\); a udp port belongs to one service/)
  ok(svc('x', ['53:53/tcp']))
  ok(svc('x', ['443:443/udp']))
  // One service: 53/tcp and 53/udp both, but not one number twice in a space.
  ok(svc('dns', ['53:53/udp', '53:53/tcp']))
  ok(svc('y', ['9053:53/udp', '9053:53/https']))
  conflict(svc('y', ['9053:53/udp', '9053:54/udp']), /published port 9053\/udp is given twice/)
  conflict(svc('y', ['9053:53/tcp', '9053:53/http']), /published port 9053 is given twice/)
})

t.test('--publish-rm PUB[/PROTO]', async (t) => {
  const ports = ['53:53/udp', '53:53/tcp', '443:80/https', '80:80'].map((p) => parsePublish(p))
  const names = (text: string): string[] => ports.filter(parsePublishRm(text)).map((p) => `${p.published}/${p.protocol}`)
  t.same(names('53'), ['53/udp', '53/tcp'])
  t.same(names('53/udp'), ['53/udp'])
  t.same(names('53/tcp'), ['53/tcp'])
  t.same(names('80/tcp'), ['80/http'], 'service ls shows an http port as /tcp')
  t.same(names('443/https'), ['443/https'])
  t.same(names('443/http'), [])
  t.throws(() => parsePublishRm('53/sctp'), { code: 'MESH_ERR_INVALID_PORT', message: /"53\/sctp" has protocol "sctp"/ })
  t.throws(() => parsePublishRm('x'), { code: 'MESH_ERR_INVALID_PORT' })
})
