/**
 * Upgrade offers other than a plain WebSocket handshake (issue 9, defect 6):
 * an h2c offer is served as the HTTP/1.1 request it also is (no leaked
 * upstream socket), a declined WebSocket upgrade is relayed as a normal
 * response, an endpoint that never answers the upgrade gets 504, a GET
 * upgrade carrying a body keeps its body, and upgrades are counted by their
 * real status.
 */
import t from 'tap'
import { meshOk, httpGet } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { Raw, rawExchange } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

const WS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

t.test('upgrade offers through the L7 port', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', 'proxy.headersTimeout=1s', '--set', 'proxy.bodyTimeout=1s'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  t.test('Upgrade: h2c is answered as HTTP/1.1, its Upgrade and HTTP2-Settings stripped, and leaks no upstream socket', async (t) => {
    const seen = a.seen.length
    const c = Raw.open(t, node.addr, 8080)
    for (let i = 1; i <= 20; i++) {
      c.send('GET /headers HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n')
      await c.until(new RegExp(`(?:HTTP/1\\.1 200 [^]*?"method":"GET"\\}){${i}}`), `answer ${i}`)
    }
    t.notOk(c.closed, 'the connection stays open and keeps serving HTTP/1.1')
    const names = a.seen[seen].rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
    t.notOk(names.includes('upgrade'), 'no Upgrade upstream')
    t.notOk(names.includes('http2-settings'), 'no HTTP2-Settings upstream')
    t.ok(a.sockets.size <= 2, `upstream sockets stay pooled (${a.sockets.size} open after 20 offers)`)
  })

  t.test('a declined WebSocket upgrade is relayed as a normal response', async (t) => {
    const text = await rawExchange(node.addr, 8080, `GET /decline HTTP/1.1\r\nHost: x\r\n${WS}\r\n`)
    t.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/, 'the endpoint\'s 403')
    t.match(text, /\r\ncontent-length: 9\r\n/i, 'framed by its length')
    t.notMatch(text, /transfer-encoding/i, 'not chunked over a raw body')
    t.notMatch(text, /keep-alive/i, 'hop-by-hop headers dropped')
    t.ok(text.endsWith('\r\n\r\ndeclined\n'), 'the body whole')
  })

  t.test('an endpoint that never answers the upgrade: 504 after proxy.headersTimeout', async (t) => {
    const started = Date.now()
    const text = await rawExchange(node.addr, 8080, `GET /hang HTTP/1.1\r\nHost: x\r\n${WS}\r\n`, 8000)
    t.match(text, /^HTTP\/1\.1 504 /, '504')
    t.ok(Date.now() - started < 5000, `within the 1 s timeout (coarse timer): ${Date.now() - started} ms`)
  })

  t.test('a GET upgrade with a body is served as a plain request and keeps its body', async (t) => {
    const text = await rawExchange(node.addr, 8080, `GET /count HTTP/1.1\r\nHost: x\r\n${WS}Content-Length: 5\r\n\r\nhello`.replace('Connection: Upgrade\r\n', 'Connection: Upgrade, close\r\n'))
    t.match(text, /^HTTP\/1\.1 200 [^]*\r\n\r\n5\n$/, 'the backend counted the 5 body bytes')
  })

  t.test('upgrades are counted by their real status', async (t) => {
    const before101 = await node.metric('mesh_http_requests_total', 'code_class="1xx"')
    const c = Raw.open(t, node.addr, 8080).send(`GET /chat HTTP/1.1\r\nHost: x\r\n${WS}\r\n`)
    await c.until(/^HTTP\/1\.1 101 /, 'the 101')
    c.socket.destroy()
    await waitFor(async () => await node.metric('mesh_http_requests_total', 'code_class="1xx"') === (Number.isNaN(before101) ? 1 : before101 + 1), { what: 'one more 1xx' })
    t.ok(await node.metric('mesh_http_requests_total', 'code_class="4xx"') >= 1, 'the declined upgrade counted as 4xx, not 1xx')
  })
})
