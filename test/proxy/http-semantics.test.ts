import t from 'tap'
import { connect } from 'node:net'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

/** Writes raw bytes, returns everything the node sends until it closes. */
async function raw (host: string, port: number, text: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => { s.write(text) })
    let out = ''
    s.on('data', (c: Buffer) => { out += c.toString('latin1') })
    s.on('error', reject)
    s.on('close', () => { resolve(out) })
  })
}

t.test('HTTP/1.1 semantics through the proxy', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const url = `http://${node.addr}:8080`

  const head = await httpGet(`${url}/bytes?n=5`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD answered')
  t.equal(head.body, '', 'HEAD has no body')
  t.equal(head.headers['content-length'], '5', 'HEAD keeps the Content-Length of the GET')
  t.equal((await httpGet(`${url}/`)).body, 'a\n', 'the connection pool is fine after a HEAD')
  t.equal((await httpGet(`${url}/status?code=204`)).status, 204, '204 passes')
  const notModified = await httpGet(`${url}/status?code=304`)
  t.equal(notModified.status, 304, '304 passes')
  t.equal(notModified.headers.etag, '"v1"', 'with its headers')
  const chunked = await httpGet(`${url}/chunked`)
  t.equal(chunked.body, 'a part1\na part2\n', 'a chunked response streams through whole')
  t.equal(chunked.headers['transfer-encoding'], 'chunked', 'and stays chunked to the client')

  const pipelined = await raw(node.addr, 8080,
    'GET /headers?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /headers?n=2 HTTP/1.1\r\nHost: x\r\n\r\nGET /headers?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const order = [...pipelined.matchAll(/"url":"\/headers\?n=(\d)"/g)].map((m) => m[1])
  t.same(order, ['1', '2', '3'], 'pipelined requests are answered in order on one connection')

  const big = await raw(node.addr, 8080, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(big, /^HTTP\/1\.1 431 /, 'a head over proxy.maxHeaderSize gets 431')
  const smuggle = await raw(node.addr, 8080, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  t.match(smuggle, /^HTTP\/1\.1 400 /, 'Content-Length together with Transfer-Encoding is refused (400)')
})
