/**
 * Requests and responses that must not confuse the HTTP/1.1 front end
 * (issue 9): trailers never leak into the next request, transfer codings
 * other than chunked are refused, the request target and Host are checked
 * and absolute-form is routed by its authority, response framing is always
 * exactly one of Content-Length / chunked, header limits, and the
 * forwarding headers of untrusted and trusted peers.
 */
import t from 'tap'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { Raw, rawExchange } from '../helpers/raw-client'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

/** The headers a backend saw for its request number `i`, as a lower-cased map (repeats joined with '\n'). */
function headersOf (b: Backend, i: number): Map<string, string> {
  const m = new Map<string, string>()
  const raw = b.seen[i].rawHeaders
  for (let j = 0; j < raw.length; j += 2) {
    const k = raw[j].toLowerCase()
    m.set(k, m.has(k) ? `${m.get(k) as string}\n${raw[j + 1]}` : raw[j + 1])
  }
  return m
}

/** A backend speaking raw HTTP/1.1: for each request head, the canned response its path names. */
async function rawBackend (responses: Record<string, string>): Promise<{ server: Server, address: string }> {
  const host = loopback()
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    let buf = ''
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1')
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const path = buf.slice(0, buf.indexOf('\r\n')).split(' ')[1]
        buf = buf.slice(end + 4)
        s.write(responses[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
      }
    })
    s.on('error', () => {})
  })
  await new Promise<void>((resolve) => { server.listen(0, host, resolve) })
  const port = (server.address() as { port: number }).port
  server.on('close', () => { for (const s of sockets) s.destroy() })
  return { server, address: `${host}:${port}` }
}

t.test('HTTP/1.1 front end hardening', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const [a, b] = await Promise.all([Backend.start('a'), Backend.start('b')])
  t.teardown(async () => { await a.close(); await b.close() })
  const raw = await rawBackend({
    '/cl-space': 'HTTP/1.1 200 OK\r\nContent-Length: 5 \r\n\r\nhello',
    '/cl-and-te': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
  })
  t.teardown(() => { raw.server.close() })
  const me = loopback() // the test client's own address: trusted on port 8083's node below
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', `proxy.trustedProxies=${me}/32`, '--set', 'proxy.forwardedHeader=true'])
  const plain = await MeshNode.start('n2', loopback(), redis.url)
  t.teardown(async () => { await node.stop(); await plain.stop() })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'va', '--publish', '8081:80', '--host', 'a.local', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'vb', '--publish', '8081:80', '--host', 'b.local', '--endpoint', b.address], redis.url)
  await meshOk(['service', 'create', '--name', 'rawsvc', '--publish', '8082:80', '--endpoint', raw.address], redis.url)
  for (const n of [node, plain]) {
    await waitFor(async () => (await httpGet(`http://${n.addr}:8080/`)).status === 200 && (await httpGet(`http://${n.addr}:8082/cl-space`)).status === 200,
      { what: `services served on ${n.name}` })
  }
  const open = (n: MeshNode, port: number): Raw => Raw.open(t, n.addr, port)

  t.test('a chunked request\'s trailers never reach the next request on the connection', async (t) => {
    const seen = a.seen.length
    const c = open(plain, 8080).send('POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Injected: yes\r\n\r\n' +
      'GET /account HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await c.closedBy('both answers')
    t.match(c.data, /^HTTP\/1\.1 200 [^]*\r\n\r\n3\nHTTP\/1\.1 200 /, 'the POST body (3 bytes), then the GET answered')
    const get = a.seen.slice(seen).find((r) => r.method === 'GET')
    t.ok(get, 'the GET reached the backend')
    t.equal(get?.url, '/account', 'with its own target, not the POST\'s')
    t.notOk(headersOf(a, a.seen.indexOf(get as typeof a.seen[0])).has('x-injected'), 'and without the POST\'s trailer')
    t.notOk(headersOf(a, seen).has('x-injected'), 'the trailer is not forwarded as a header of the POST either')
  })

  t.test('transfer codings other than chunked: 501 and the connection closed, nothing forwarded', async (t) => {
    const before = a.requests
    for (const [what, te] of [['gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n'], ['two Transfer-Encoding lines', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n']]) {
      const text = await rawExchange(plain.addr, 8080, `POST /count HTTP/1.1\r\nHost: x\r\n${te}\r\n3\r\nabc\r\n0\r\n\r\n`)
      t.match(text, /^HTTP\/1\.1 501 /, `${what}: 501`)
      t.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, `${what}: one answer`)
    }
    t.equal(a.requests, before, 'no request reached the backend')
  })

  t.test('a refused request whose body then breaks the framing: answered, and nothing thrown in the node (found by the fuzz run)', async (t) => {
    const text = await rawExchange(plain.addr, 8080, 'POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunkeEd\r\n\r\n5\r\nhello\r\n')
    t.match(text, /^HTTP\/1\.1 (400|501) /, 'refused')
    t.equal((await httpGet(`http://${plain.addr}:8080/`)).status, 200, 'the node serves on')
    t.notMatch(plain.log, /uncaught|unhandled/i, 'no uncaught error in its log')
  })

  t.test('absolute-form target: routed by its authority, forwarded in origin-form with that Host', async (t) => {
    const seen = b.seen.length
    const text = await rawExchange(plain.addr, 8081, 'GET http://b.local/x?y=1 HTTP/1.1\r\nHost: a.local\r\nConnection: close\r\n\r\n')
    t.match(text, /^HTTP\/1\.1 200 [^]*\r\n\r\nb\n$/, 'b.local\'s service answered, not the Host header\'s')
    t.equal(b.seen[seen]?.url, '/x?y=1', 'origin-form upstream')
    t.equal(headersOf(b, seen).get('host'), 'b.local', 'with the target\'s authority as Host')
  })

  t.test('Host and target refusals: 400, never a 502', async (t) => {
    const cases: Array<[string, string]> = [
      ['two Host headers', 'GET / HTTP/1.1\r\nHost: a.local\r\nHost: b.local\r\n\r\n'],
      ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: a.local\r\n\r\n'],
      ['a Host with a path in it', 'GET / HTTP/1.1\r\nHost: a.local/evil\r\n\r\n'],
      ['a target that is neither /path nor absolute', 'GET x/y HTTP/1.1\r\nHost: a.local\r\n\r\n']
    ]
    for (const [what, text] of cases) {
      const got = await rawExchange(plain.addr, 8081, text)
      t.match(got, /^HTTP\/1\.1 400 /, `${what}: 400`)
    }
  })

  t.test('response framing: exactly one of Content-Length and chunked reaches the client', async (t) => {
    const space = await rawExchange(plain.addr, 8082, 'GET /cl-space HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    t.match(space, /\r\ncontent-length: 5\r\n/i, 'Content-Length "5 " is sent as 5')
    t.notMatch(space, /transfer-encoding/i, 'and without chunked framing')
    t.ok(space.endsWith('\r\n\r\nhello'), 'the body whole')
    const both = await rawExchange(plain.addr, 8082, 'GET /cl-and-te HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    if (/^HTTP\/1\.1 502 /.test(both)) {
      t.pass('a response with both Content-Length and Transfer-Encoding: 502')
    } else {
      t.match(both, /^HTTP\/1\.1 200 /, 'a response with both framings is forwarded')
      t.notMatch(both, /content-length/i, 'by Transfer-Encoding, its Content-Length removed')
      t.match(both, /\r\n\r\n5\r\nhello\r\n0\r\n\r\n$/, 'the chunked body whole')
    }
  })

  t.test('header limits: proxy.maxHeaders lines (100), Expect other than exactly 100-continue', async (t) => {
    const lines = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('')
    t.match(await rawExchange(plain.addr, 8080, `GET / HTTP/1.1\r\nHost: x\r\n${lines(98)}Connection: close\r\n\r\n`), /^HTTP\/1\.1 200 /, '100 header lines: answered')
    t.match(await rawExchange(plain.addr, 8080, `GET / HTTP/1.1\r\nHost: x\r\n${lines(99)}Connection: close\r\n\r\n`), /^HTTP\/1\.1 431 /, '101 header lines: 431')
    t.match(await rawExchange(plain.addr, 8080, 'POST /count HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, foo\r\nContent-Length: 3\r\n\r\nabc'), /^HTTP\/1\.1 417 /, 'Expect: 100-continue, foo: 417')
  })

  t.test('answered without 100 Continue (no route): the connection closes, the unsent body is never read as a request', async (t) => {
    const c = open(plain, 8081).send('POST /count HTTP/1.1\r\nHost: nosuch.local\r\nExpect: 100-continue\r\nContent-Length: 38\r\n\r\n')
    await c.until(/^HTTP\/1\.1 404 [^]*\r\n\r\n[^]*\n$/, 'the 404')
    t.notMatch(c.data, /100 Continue/, 'no 100 Continue for a request that is not forwarded')
    t.match(c.data, /\r\nconnection: close\r\n/i, 'Connection: close')
    c.send('GET /headers HTTP/1.1\r\nHost: a.local\r\n\r\n') // what a client that gave up on its body might send next
    await c.closedBy('the node closing')
    t.equal(c.data.match(/HTTP\/1\.1 /g)?.length, 1, 'and nothing after it was taken for a request')
  })

  t.test('Connection-named headers are dropped upstream, however many tokens it lists', async (t) => {
    const seen = a.seen.length
    const tokens = Array.from({ length: 50 }, (_, i) => `x-t${i}`)
    const text = await rawExchange(plain.addr, 8080, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close, ${tokens.join(', ')}\r\n${tokens.map((n) => `${n}: secret\r\n`).join('')}X-Keep: yes\r\n\r\n`)
    t.match(text, /^HTTP\/1\.1 200 /, 'answered')
    const h = headersOf(a, seen)
    t.equal(tokens.filter((n) => h.has(n)).length, 0, 'none of the 50 named headers reached the backend')
    t.equal(h.get('x-keep'), 'yes', 'the others did')
  })

  t.test('forwarding headers from an untrusted client are replaced by the real peer', async (t) => {
    const seen = a.seen.length
    const text = await rawExchange(plain.addr, 8080, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n' +
      'True-Client-IP: 6.6.6.6\r\nX-Forwarded-Server: evil\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n')
    t.match(text, /^HTTP\/1\.1 200 /, 'answered')
    const h = headersOf(a, seen)
    for (const name of ['forwarded', 'x-real-ip', 'true-client-ip', 'x-forwarded-server']) t.notOk(h.has(name), `${name} dropped`)
    t.match(h.get('x-forwarded-for'), /^127\./, 'X-Forwarded-For is the real peer only')
    t.equal(h.get('x-forwarded-proto'), 'http', 'X-Forwarded-Proto ours')
    t.equal(h.get('x-forwarded-host'), 'x', 'X-Forwarded-Host ours')
  })

  t.test('from a peer in proxy.trustedProxies they are kept and appended to; Forwarded emitted when asked', async (t) => {
    const seen = a.seen.length
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: node.addr, port: 8080, localAddress: me }, () => {
        s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: 203.0.113.9\r\nX-Real-IP: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n')
      })
      let out = ''
      s.on('data', (d: Buffer) => { out += d.toString('latin1') })
      s.on('error', reject)
      s.on('close', () => { resolve(out) })
    })
    t.match(text, /^HTTP\/1\.1 200 /, 'answered')
    const h = headersOf(a, seen)
    t.equal(h.get('x-forwarded-for'), `203.0.113.9, ${me}`, 'X-Forwarded-For appended to')
    t.equal(h.get('x-real-ip'), '203.0.113.9', 'X-Real-IP kept')
    t.equal(h.get('x-forwarded-proto'), 'https', 'X-Forwarded-Proto kept (the trusted balancer terminated TLS)')
    t.equal(h.get('forwarded'), `for=203.0.113.9, for=${me};proto=http;host="x"`, 'Forwarded appended to')
  })
})
