import { connect, createServer, type Server, type Socket } from 'node:net'
import t from 'tap'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

interface RawResponse { status: number, headers: Array<[string, string]>, body: string }

/**
 * Sends one request written byte for byte (so the test controls every
 * header, hop-by-hop ones included) from a chosen source address, and reads
 * one Content-Length-framed response.
 */
async function rawRequest (host: string, port: number, localAddress: string, head: string, body = ''): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host, port, localAddress })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no complete response within 3 s: ${buf.toString('latin1')}`)) }, 3000)
    s.on('error', (err) => { clearTimeout(timer); reject(err) })
    s.on('connect', () => { s.write(`${head}\r\n\r\n${body}`) })
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
      if (/^HTTP\/1\.1 1\d\d /.test(lines[0])) { buf = buf.subarray(end + 4); return } // interim (100 Continue)
      const headers: Array<[string, string]> = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])
      const cl = headers.find(([n]) => n === 'content-length')
      if (cl === undefined) { clearTimeout(timer); s.destroy(); reject(new Error(`response without content-length: ${lines.join(' | ')}`)); return }
      if (buf.length < end + 4 + Number(cl[1])) return
      clearTimeout(timer)
      s.destroy()
      resolve({ status: Number(lines[0].split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + Number(cl[1])).toString('utf8') })
    })
  })
}

/** [lower-case name, value] pairs from a rawHeaders array. */
function pairs (raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]])
  return out
}

function values (hs: Array<[string, string]>, name: string): string[] {
  return hs.filter(([n]) => n === name).map(([, v]) => v)
}

// Connection is absent here: the proxy's own upstream connection sends one (checked below).
const HOP = ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization', 'transfer-encoding']

t.test('headers as the backend sees them, and as the client sees the response', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const backend = await Backend.start('a')
  t.teardown(async () => { await backend.close() })
  // A backend answering with hop-by-hop response headers, one of them named in Connection.
  const hopHost = loopback()
  // Written raw: Node's own server would refuse some of these combinations.
  const hopSockets = new Set<Socket>()
  const hopServer: Server = createServer((sock) => {
    hopSockets.add(sock)
    sock.once('close', () => hopSockets.delete(sock))
    let head = ''
    sock.setEncoding('latin1')
    sock.on('data', (c: string) => {
      head += c
      while (head.includes('\r\n\r\n')) {
        head = head.slice(head.indexOf('\r\n\r\n') + 4)
        sock.write([
          'HTTP/1.1 200 OK',
          'Connection: keep-alive, X-Resp-Hop',
          'Keep-Alive: timeout=5, max=7',
          'X-Resp-Hop: secret',
          'Proxy-Connection: keep-alive',
          'Proxy-Authenticate: Basic realm="x"',
          'Upgrade: h2c',
          'Trailer: X-Checksum',
          'X-End-To-End: kept',
          'Content-Length: 3',
          '', 'ok\n'].join('\r\n'))
      }
    })
  })
  await new Promise<void>((resolve) => { hopServer.listen(0, hopHost, resolve) })
  t.teardown(async () => { for (const h of hopSockets) h.destroy(); await new Promise<void>((resolve) => { hopServer.close(() => { resolve() }) }) })
  const hopPort = (hopServer.address() as { port: number }).port

  const node = await MeshNode.start('n1', loopback(), redis.url)
  t.teardown(async () => { await node.stop() })
  const client = loopback()

  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '-d', '--endpoint', backend.address], redis.url)
  await meshOk(['service', 'create', '--name', 'hop', '--publish', '8081:80', '-d', '--endpoint', `${hopHost}:${hopPort}`], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'port 8080 served' })
  await waitFor(async () => (await httpGet(`http://${node.addr}:8081/`)).status === 200, { what: 'port 8081 served' })

  t.test('request: hop-by-hop removed, X-Forwarded-* ours, Host kept', async (t) => {
    const r = await rawRequest(node.addr, 8080, client, [
      'GET /headers?x=1 HTTP/1.1',
      'Host: shop.example:8080',
      'Connection: keep-alive, X-Hop-Custom, x-other-hop',
      'Keep-Alive: timeout=30',
      'TE: trailers',
      'Trailer: X-Checksum',
      'Upgrade: h2c',
      'Proxy-Connection: keep-alive',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'X-Hop-Custom: 1',
      'X-Other-Hop: 2',
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: evil.example',
      'X-Forwarded-Port: 443',
      'X-End-To-End: kept',
      'Authorization: Bearer abc',
      'Accept: */*'
    ].join('\r\n'))
    t.equal(r.status, 200)
    const seen = JSON.parse(r.body) as { rawHeaders: string[], url: string, method: string }
    const hs = pairs(seen.rawHeaders)
    t.equal(seen.url, '/headers?x=1', 'path and query forwarded')
    for (const h of HOP) t.same(values(hs, h), [], `${h} from the client does not reach the backend`)
    t.notOk(values(hs, 'connection').some((v) => /hop/i.test(v)), `the client's Connection header does not pass (${values(hs, 'connection').join('; ')})`)
    t.same(values(hs, 'x-hop-custom'), [], 'a header named in Connection is removed')
    t.same(values(hs, 'x-other-hop'), [], 'a lower-case header named in Connection is removed')
    t.same(values(hs, 'x-forwarded-for'), [client], 'X-Forwarded-For is the client address, the client-sent value replaced')
    t.same(values(hs, 'x-forwarded-proto'), ['http'], 'X-Forwarded-Proto: http')
    t.same(values(hs, 'x-forwarded-host'), ['shop.example:8080'], 'X-Forwarded-Host is the original Host')
    t.same(values(hs, 'x-forwarded-port'), [], 'a client-sent X-Forwarded-Port is dropped (not set: HAProxy and nginx do not either)')
    t.same(values(hs, 'host'), ['shop.example:8080'], 'Host preserved')
    t.same(values(hs, 'x-end-to-end'), ['kept'], 'end-to-end header kept')
    t.same(values(hs, 'authorization'), ['Bearer abc'], 'Authorization (not Proxy-) kept')
    t.same(values(hs, 'accept'), ['*/*'], 'Accept kept')
  })

  t.test('request with a body: Expect: 100-continue and chunked framing are handled hop by hop', async (t) => {
    const r = await rawRequest(node.addr, 8080, client, [
      'POST /count HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Connection: close'
    ].join('\r\n'), '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    t.equal(r.status, 200, 'chunked upload forwarded')
    t.equal(r.body, '11\n', 'the backend got the de-chunked body')
    // curl sends Expect: 100-continue for bodies over 1 KiB
    const e = await rawRequest(node.addr, 8080, client, [
      'POST /count HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Expect: 100-continue', 'Connection: close'
    ].join('\r\n'), 'hello')
    t.equal(e.status, 200, `a request with Expect: 100-continue is served (${e.status} ${e.body.trim()})`)
    t.equal(e.body, '5\n', 'and its body reached the backend')
  })

  t.test('response: hop-by-hop headers from the backend do not reach the client', async (t) => {
    const r = await rawRequest(node.addr, 8081, client, ['GET / HTTP/1.1', 'Host: x'].join('\r\n'))
    t.equal(r.status, 200)
    t.equal(r.body, 'ok\n')
    t.same(values(r.headers, 'x-end-to-end'), ['kept'], 'end-to-end response header kept')
    t.same(values(r.headers, 'x-resp-hop'), [], 'a response header named in Connection is removed')
    t.same(values(r.headers, 'proxy-connection'), [], 'Proxy-Connection removed')
    t.same(values(r.headers, 'proxy-authenticate'), [], 'Proxy-Authenticate removed')
    t.same(values(r.headers, 'upgrade'), [], 'Upgrade removed from a non-101 response')
    t.same(values(r.headers, 'trailer'), [], 'Trailer removed')
    t.notOk(values(r.headers, 'keep-alive').some((v) => v.includes('max=7')), 'the backend Keep-Alive does not pass')
    t.ok(values(r.headers, 'connection').length <= 1, 'at most one Connection header (the proxy\'s own)')
    t.notOk(values(r.headers, 'connection').some((v) => /x-resp-hop/i.test(v)), 'the backend Connection header does not pass')
  })
})
