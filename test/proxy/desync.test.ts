/**
 * Request smuggling gadgets (issue 9, "keep what works"): classic CL.TE /
 * TE.CL framing conflicts, obfuscated Transfer-Encoding and Content-Length,
 * chunk-size tricks, bare CR/LF, header-line tricks, each followed on the
 * same connection by a second request. Whatever the node does with a gadget
 * (refuse it, or forward it), the backend must never receive a request the
 * node did not answer the client for: that would be a request smuggled past
 * the proxy into a shared upstream connection.
 */
import t from 'tap'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

const SMUGGLED = 'GET /headers?smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
/** Last on every connection: once it is answered (or the node closed first), nothing is in flight. */
const LAST = 'GET /headers?last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
const H = 'POST /headers HTTP/1.1\r\nHost: x\r\n'

/** [name, bytes sent before the second request] */
const GADGETS: Array<[string, string]> = [
  ['CL.TE', `${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`],
  ['TE.CL', `${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nZ\r\n0\r\n\r\n`],
  ['TE xchunked', `${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
  ['TE space before colon', `${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
  ['TE tab value', `${H}Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`],
  ['TE vertical tab', `${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`],
  ['TE twice, second bogus', `${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n`],
  ['TE identity, chunked', `${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`],
  ['TE chunked, identity', `${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
  ['TE obs-folded', `${H}X-A: b\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE name split by CRLF', `${H}Transfer-Encoding\r\n: chunked\r\n\r\n0\r\n\r\n`],
  ['TE chunk (truncated)', `${H}Transfer-Encoding: chunk\r\n\r\n0\r\n\r\n`],
  ['TE upper case CHUNKED', `${H}Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n`],
  ['TE on HTTP/1.0', 'POST /headers HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['CL plus sign', `${H}Content-Length: +3\r\n\r\nabc`],
  ['CL list 3, 3', `${H}Content-Length: 3, 3\r\n\r\nabc`],
  ['CL leading zero', `${H}Content-Length: 03\r\n\r\nabc`],
  ['CL twice, different', `${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`],
  ['CL hex', `${H}Content-Length: 0x3\r\n\r\nabc`],
  ['CL two numbers', `${H}Content-Length: 3 3\r\n\r\nabc`],
  ['CL negative', `${H}Content-Length: -1\r\n\r\nabc`],
  ['CL huge', `${H}Content-Length: 99999999999999999999999\r\n\r\nabc`],
  ['chunk extension', `${H}Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n`],
  ['chunk size with leading space', `${H}Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n`],
  ['chunk size with trailing space', `${H}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`],
  ['chunk size negative', `${H}Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n`],
  ['chunk size overflow', `${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff3\r\nabc\r\n0\r\n\r\n`],
  ['chunk data longer than its size', `${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`],
  ['chunk without CRLF after data', `${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n`],
  ['last chunk with LF only', `${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\n\n`],
  ['trailer smuggling a header', `${H}Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 50\r\n\r\n`],
  ['bare LF header ends', 'POST /headers HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc'],
  ['bare CR in a header', `${H}X-A: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['NUL in a header value', `${H}X-A: a\0b\r\nContent-Length: 0\r\n\r\n`],
  ['space in a header name', `${H}X A: b\r\nContent-Length: 0\r\n\r\n`],
  ['two Host headers', 'GET /headers HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'],
  ['absolute-form vs Host', 'GET http://x/headers HTTP/1.1\r\nHost: y\r\n\r\n'],
  ['request line with two spaces', 'GET  /headers HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['request line with a tab', 'GET /headers\tHTTP/1.1\r\nHost: x\r\n\r\n'],
  ['version HTTP/1.2', 'GET /headers HTTP/1.2\r\nHost: x\r\n\r\n'],
  ['GET with a Content-Length body', 'GET /headers HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
  ['Expect with chunked', `${H}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['Upgrade with a body', `GET /headers HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['h2c upgrade', 'GET /headers HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n'],
  ['Connection naming Content-Length', `${H}Connection: content-length\r\nContent-Length: 3\r\n\r\nabc`],
  ['Connection naming Transfer-Encoding', `${H}Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`]
]

t.test('smuggling gadgets never get a request past the node unanswered', async (t) => {
  // Short client timeouts: a gadget that leaves the node waiting for more bytes ends in a second.
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', 'proxy.clientHeadersTimeout=1s', '--set', 'proxy.clientRequestTimeout=1s'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  let refused = 0
  let forwarded = 0
  for (const [name, gadget] of GADGETS) {
    const seenBefore = a.seen.filter((r) => r.url === '/headers?smuggled').length
    const c = Raw.open(t, node.addr, 8080).send(gadget + SMUGGLED + LAST)
    await c.closedBy(`${name}: the node closing the connection`, 5000)
    const backendSaw = a.seen.filter((r) => r.url === '/headers?smuggled').length - seenBefore
    const clientGot = c.data.split('"url":"/headers?smuggled"').length - 1
    t.ok(backendSaw <= clientGot, `${name}: the backend saw ${backendSaw} second request(s), the client was answered for ${clientGot}`)
    if (/^HTTP\/1\.1 [45]\d\d /.test(c.data) || c.data === '') refused++
    else forwarded++
    c.socket.destroy()
  }
  t.comment(`${GADGETS.length} gadgets: ${refused} refused, ${forwarded} forwarded, none smuggled a request`)
})
