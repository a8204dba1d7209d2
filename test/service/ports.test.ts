import t from 'tap'
import { checkPortConflicts, parsePublish } from '../../lib/service/ports'
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
  for (const bad of ['8080:', ':80', '0:80', '8080:65536', 'a:b', '8080:80/udp', '1:2:3', '0', '/tcp']) {
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
  conflict(svc('x', ['9090:1/tcp']), /a tcp port belongs to one service/)
  conflict(svc('x', ['7000:1', '7000:2']), /port 7000 is given twice/)
  ok(svc('x', ['9090:1'], ['x.local']))
  ok(svc('x', ['9090:1'], ['a.example.com']))
  ok(svc('x', ['7000:1', '7001:1/tcp']))
  ok(svc('web', ['8080:81']))
})
