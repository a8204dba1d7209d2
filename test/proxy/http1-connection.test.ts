/**
 * The client side of the L7 proxy as a raw HTTP/1.x peer sees it: framing
 * for 1.0 and 1.1 clients, requests the proxy refuses itself, pipelining
 * with bodies, long heads, half-close, and the client timeouts.
 */
import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

t.test('HTTP/1.x framing and refusals on the client side', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const raw = (): Raw => { const r = new Raw(node.addr, 8080); t.teardown(() => { r.socket.destroy() }); return r }

  t.test('HTTP/1.0 client, body without Content-Length: sent raw, ended by closing the connection', async (t) => {
    const c = raw().send('GET /chunked HTTP/1.0\r\n\r\n')
    await c.closedBy('the node closing the HTTP/1.0 connection')
    t.match(c.data, /^HTTP\/1\.1 200 /, '200')
    t.notMatch(c.data, /transfer-encoding/i, 'no chunked framing for a 1.0 client')
    t.match(c.data, /\r\nconnection: close\r\n/i, 'Connection: close')
    t.ok(c.data.endsWith('\r\n\r\na part1\na part2\n'), 'the whole body, unframed')
  })

  t.test('HTTP/1.0 keep-alive: Connection: keep-alive answered, the connection serves a second request', async (t) => {
    const c = raw().send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
    await c.until(/a\n$/, 'the first answer')
    t.match(c.data, /\r\nconnection: keep-alive\r\n/i, 'keep-alive said back to a 1.0 client')
    t.notOk(c.closed, 'still open')
    c.send('GET / HTTP/1.0\r\n\r\n')
    await c.closedBy('the second (non keep-alive) request closing it')
    t.equal(c.data.match(/HTTP\/1\.1 200 /g)?.length, 2, 'two answers on one connection')
  })

  t.test('HTTP/1.1 body without Content-Length is chunked to the client', async (t) => {
    const c = raw().send('GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n')
    const text = await c.until(/\r\n0\r\n\r\n$/, 'the last chunk')
    t.match(text, /\r\ntransfer-encoding: chunked\r\n/i, 'Transfer-Encoding: chunked')
    t.match(text, /\r\n8\r\na part1\n\r\n8\r\na part2\n\r\n0\r\n\r\n$/, 'each backend chunk framed, then the last chunk')
    t.notOk(c.closed, 'the connection stays open')
  })

  t.test('requests the proxy refuses itself', async (t) => {
    const before = a.requests
    const noHost = raw().send('GET / HTTP/1.1\r\n\r\n')
    await noHost.closedBy('the node closing after 400')
    t.match(noHost.data, /^HTTP\/1\.1 400 /, 'HTTP/1.1 without Host: 400')
    t.match(noHost.data, /Host header/, 'saying why')

    const expect = raw().send('POST /count HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc')
    await expect.closedBy('the node closing after 417')
    t.match(expect.data, /^HTTP\/1\.1 417 /, 'an expectation other than 100-continue: 417')

    const tunnel = raw().send('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    await tunnel.closedBy('the node closing after 405')
    t.match(tunnel.data, /^HTTP\/1\.1 405 /, 'CONNECT: 405, a reverse proxy does not tunnel')

    const garbage = raw().send('GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n')
    await garbage.closedBy('the node closing after 400')
    t.match(garbage.data, /^HTTP\/1\.1 400 /, 'a malformed header name: 400')
    t.equal(a.requests, before, 'none of them reached the backend')
  })

  t.test('framing the parser refuses: 400 and the connection closed, nothing half-forwarded as a success', async (t) => {
    const cases: Array<[string, string]> = [
      ['two different Content-Length values', 'POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
      ['Transfer-Encoding other than chunked last', 'POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
      ['an obs-folded header', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n'],
      ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
      ['a bare LF line end', 'GET / HTTP/1.1\nHost: x\n\n']
    ]
    for (const [what, text] of cases) {
      const c = raw().send(text)
      await c.closedBy(`the node closing after ${what}`)
      t.match(c.data, /^HTTP\/1\.1 400 /, `${what}: 400`)
      t.equal(c.data.match(/HTTP\/1\.1 /g)?.length, 1, `${what}: one answer only`)
    }
  })

  t.test('a chunked body that turns malformed mid-way: the request is stopped upstream and answered 400, not 502', async (t) => {
    const c = raw().send('POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    await waitFor(() => a.requests > 0, { what: 'the request upstream with its body streaming' })
    c.send('zz\r\nnot hex\r\n')
    await c.closedBy('the node closing after the bad chunk')
    t.match(c.data, /^HTTP\/1\.1 400 /, '400 Bad Request')
    t.equal(c.data.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only')
  })

  t.test('a request that arrives one byte at a time (head, chunked body, a second request) is parsed whole', async (t) => {
    const c = raw()
    const text = 'POST /count HTTP/1.1\r\nHost: x\r\nX-Long: ' + 'v'.repeat(300) + '\r\nTransfer-Encoding: chunked\r\n\r\n' +
      'a\r\n0123456789\r\n5\r\nhello\r\n0\r\n\r\n' + 'GET /headers?n=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    await new Promise<void>((resolve) => { c.socket.once('connect', resolve) })
    c.socket.setNoDelay(true)
    for (let i = 0; i < text.length; i++) {
      c.socket.write(text[i])
      if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve)) // let the bytes go out in small reads
    }
    await c.closedBy('both answers')
    t.match(c.data, /^HTTP\/1\.1 200 [^]*\r\n\r\n15\n/, 'the POST body counted whole: 15 bytes')
    t.match(c.data, /"url":"\/headers\?n=2"/, 'then the second request')
  })

  t.test('a head of 40 headers (parsed in several pieces) reaches the backend whole', async (t) => {
    const names = Array.from({ length: 40 }, (_, i) => `X-H${i}`)
    const c = raw().send(`GET /headers HTTP/1.1\r\nHost: x\r\n${names.map((n, i) => `${n}: v${i}\r\n`).join('')}Connection: close\r\n\r\n`)
    await c.closedBy('the answer')
    const body = JSON.parse(c.data.slice(c.data.indexOf('\r\n\r\n') + 4)) as { rawHeaders: string[] }
    const got = names.filter((n, i) => body.rawHeaders.some((h, j) => j % 2 === 0 && h === n && body.rawHeaders[j + 1] === `v${i}`))
    t.equal(got.length, 40, 'all 40 headers with their values')
  })

  t.test('pipelining with a body: a POST then a GET on one write, answered in order', async (t) => {
    const c = raw().send('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await c.closedBy('both answers')
    t.match(c.data, /^HTTP\/1\.1 200 [^]*\r\n\r\n5\nHTTP\/1\.1 200 [^]*\r\n\r\na\n$/, 'the count of the POST body, then the GET')
  })

  t.test('request durations: a histogram per service that forwarded requests, none for an idle one', async (t) => {
    await meshOk(['service', 'create', '--name', 'idle', '--publish', '8081:80', '--endpoint', a.address], redis.url)
    await waitFor(async () => (await node.metrics()).includes('service="idle"'), { what: 'the idle service in the table' })
    t.ok(await node.metric('mesh_http_request_duration_seconds_count', 'service="web"') > 0, 'web has a duration count')
    const text = await node.metrics()
    t.notOk(/mesh_http_request_duration_seconds_\w+\{[^}]*service="idle"/.test(text), 'idle has no duration series')
  })

  t.test('open client connections are a gauge in /metrics', async (t) => {
    const before = await node.metric('mesh_http_connections_active', 'port="8080"')
    const c = raw().send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await c.until(/a\n$/, 'the answer')
    t.equal(await node.metric('mesh_http_connections_active', 'port="8080"'), before + 1, 'one more while it is open')
    c.socket.destroy()
    await waitFor(async () => await node.metric('mesh_http_connections_active', 'port="8080"') === before, { what: 'the gauge back down' })
    t.pass('back down once it closed')
  })

  t.test('a client that half-closes after its answer gets the connection closed', async (t) => {
    const c = raw().send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await c.until(/a\n$/, 'the answer')
    c.socket.end()
    await c.closedBy('the node closing its side too')
    t.pass('closed')
  })
})

t.test('client timeouts: head, whole request, idle keep-alive', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, {
    nodeArgs: ['--set', 'proxy.clientHeadersTimeout=600ms', '--set', 'proxy.clientRequestTimeout=1200ms', '--set', 'proxy.clientIdleTimeout=1500ms']
  })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const raw = (): Raw => { const r = new Raw(node.addr, 8080); t.teardown(() => { r.socket.destroy() }); return r }

  const slowHead = raw().send('GET / HTTP/1.1\r\nHost: x\r\n')
  await slowHead.closedBy('the head timeout')
  t.match(slowHead.data, /^HTTP\/1\.1 408 /, 'a head that does not finish within clientHeadersTimeout: 408')

  const before = a.requests
  const slowBody = raw().send('POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab')
  await slowBody.closedBy('the request timeout')
  t.equal(a.requests, before + 1, 'the request had gone upstream with its body streaming')
  t.notMatch(slowBody.data, /^HTTP\/1\.1 200 /, 'a body that does not finish within clientRequestTimeout is not answered as complete')

  const idle = raw().send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await idle.until(/a\n$/, 'the answer')
  await idle.closedBy('the idle timeout')
  t.equal(idle.data.match(/HTTP\/1\.1 /g)?.length, 1, 'an idle keep-alive connection is closed without a word')

  // A connection in use is not idle: requests every 300 ms (well under the 1.5 s idle limit) keep it.
  const busy = raw()
  for (let i = 1; i <= 8; i++) { // 2.4 s in all, past the limit
    busy.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await busy.until(new RegExp(`(?:a\\n[^]*){${i}}$`), `answer ${i}`)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  t.notOk(busy.closed, 'a connection with a request every 300 ms stays open past the idle limit')
})
