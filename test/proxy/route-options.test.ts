/**
 * Per-service route options of issue 12 in the data plane: a PROXY protocol
 * header (v1 or v2) sent to L4 endpoints with the real client's address, and
 * a plain-HTTP request redirected to HTTPS (308) for a service that asks.
 */
import t from 'tap'
import { connect, createServer, type Socket } from 'node:net'
import { l4Listener, l7Listener, listen, route } from '../helpers/listener'
import { loopback } from '../helpers/ports'
import { rawExchange } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'
import { parseProxyHeader } from '../../lib/proxy/proxy-protocol'

t.test('PROXY protocol towards endpoints', async (t) => {
  const received: Buffer[] = []
  const sockets = new Set<Socket>()
  const echo = createServer((s) => { sockets.add(s); s.on('data', (d: Buffer) => { received.push(d) }); s.on('error', () => {}) })
  const echoHost = loopback()
  const echoPort = await listen(echo, echoHost)
  t.teardown(() => { for (const s of sockets) s.destroy(); echo.close() })
  for (const version of [1, 2] as const) {
    received.length = 0
    const host = loopback()
    const { port } = await l4Listener(t, host, [route('tcp', 7000, [`${echoHost}:${echoPort}`], [], { proxyProtocol: version })])
    const client = loopback()
    const c = connect({ host, port, localAddress: client }, () => { c.write('payload') })
    c.on('error', () => {})
    await waitFor(() => Buffer.concat(received).includes('payload'), { what: `the payload behind a v${version} header` })
    const all = Buffer.concat(received)
    const parsed = parseProxyHeader(all)
    t.equal(parsed?.header.source?.address, client, `v${version}: the header names the client's address`)
    t.equal(all.subarray(parsed?.length).toString(), 'payload', `v${version}: then the session's own bytes`)
    c.destroy()
  }
})

t.test('redirect to HTTPS', async (t) => {
  const host = loopback()
  const { port } = await l7Listener(t, host, [route('web', 80, [`${loopback()}:1`], [], { redirectHttps: true })])
  const text = await rawExchange(host, port, 'GET /a/b?c=1 HTTP/1.1\r\nHost: shop.example:8080\r\nConnection: close\r\n\r\n')
  t.match(text, /^HTTP\/1\.1 308 /, '308 Permanent Redirect')
  t.match(text, /\r\nlocation: https:\/\/shop\.example\/a\/b\?c=1\r\n/i, 'to the same host and path over HTTPS')
})
