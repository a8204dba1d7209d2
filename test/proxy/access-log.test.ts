import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('proxy.accessLog writes one line per request to stdout, buffered', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', 'proxy.accessLog=true'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--host', 'web.local'], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`, { headers: { host: 'web.local' } })).status === 200, { what: 'web served' })
  await httpGet(`http://${node.addr}:8080/x?q="1"`, { headers: { host: 'web.local' } })
  await httpGet(`http://${node.addr}:8080/`, { headers: { host: 'other.local' } })
  await waitFor(() => /"GET \/ HTTP\/1.1" 404 - -/.test(node.log), { what: 'the 404 line' })
  t.match(node.log, new RegExp(`\\d+\\.\\d+\\.\\d+\\.\\d+ - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000\\] "GET /x\\?q=%221%22 HTTP/1.1" 200 web ${a.address.replace(/\./g, '\\.')} \\d+\\.\\d{3}ms`), 'a proxied request: status, service, endpoint, duration; quotes escaped')
})

t.test('the access log is off by default', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  for (let i = 0; i < 3; i++) await httpGet(`http://${node.addr}:8080/`)
  t.equal(await node.stop(), 0, 'stopped (a log flushes what it buffered on stop)')
  t.notMatch(node.log, /HTTP\/1.1" 200/, 'no request lines')
})
