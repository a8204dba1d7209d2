/**
 * A published port that changes hands (issue 9, defect 5): `service rm a`
 * then `service create b` on the same port. A keep-alive connection that
 * was busy when a's listener closed must not go on answering for a: it is
 * closed after its exchange in flight, and new connections reach b.
 */
import t from 'tap'
import { Backend } from '../helpers/backend'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

t.test('a connection busy when its port left the table never serves the route that left', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  const b = await Backend.start('b')
  t.teardown(async () => { await b.close() })
  await meshOk(['service', 'create', '--name', 'a', '--publish', '8090:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8090/`)).body === 'a\n', { what: 'a served' })

  const c = Raw.open(t, node.addr, 8090).send('GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => a.seen.some((r) => r.url === '/slow?ms=1500'), { what: 'the slow request in flight' })
  await meshOk(['service', 'rm', 'a'], redis.url)
  await meshOk(['service', 'create', '--name', 'b', '--publish', '8090:80', '--endpoint', b.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8090/`).catch(() => ({ body: '' }))).body === 'b\n', { what: 'new connections reach b' })

  await c.until(/\r\n\r\na\n$/, 'the answer in flight, from a', 5000)
  t.match(c.data, /^HTTP\/1\.1 200 /, 'the exchange in flight completed')
  if (!c.closed) c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => c.closed || /\r\n\r\nb\n$/.test(c.data), { what: 'the connection closed, or its next request served by b', timeout: 5000 })
  t.notMatch(c.data, /service "a"/, 'never an answer naming the service that left')
  t.equal(c.data.match(/HTTP\/1\.1 /g)?.length ?? 0, c.closed ? 1 : 2, c.closed ? 'closed after its exchange in flight' : 'its next request went to b')
})
