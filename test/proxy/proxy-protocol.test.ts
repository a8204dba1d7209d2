/**
 * PROXY protocol from a load balancer in front of the nodes (issue 12): from
 * a peer in proxy.trustedProxies a v1 or v2 header names the real client,
 * which X-Forwarded-For then carries (and whose own forwarding headers are
 * not believed); a trusted peer may also speak HTTP without one; from anyone
 * else a PROXY header is refused. On an L4 port the header is stripped.
 */
import t from 'tap'
import { connect, createServer, type Socket } from 'node:net'
import { httpGet, meshOk, MeshNode } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

/** Sends `data` from `localAddress`, resolves with everything the node sends until it closes. */
async function from (localAddress: string | undefined, host: string, port: number, data: Buffer | string): Promise<string> {
  return await new Promise((resolve) => {
    const s = connect({ host, port, localAddress }, () => { s.write(data) })
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString('latin1') })
    s.on('error', () => { resolve(out) })
    s.on('close', () => { resolve(out) })
  })
}

function forwardedFor (answer: string): string | undefined {
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { rawHeaders: string[] }
  const i = body.rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === 'x-forwarded-for')
  return i === -1 ? undefined : body.rawHeaders[i + 1]
}

function v2 (src: string, sport: number, dst: string, dport: number): Buffer {
  const b = Buffer.alloc(28)
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(b)
  b[12] = 0x21
  b[13] = 0x11
  b.writeUInt16BE(12, 14)
  src.split('.').forEach((o, i) => { b[16 + i] = Number(o) })
  dst.split('.').forEach((o, i) => { b[20 + i] = Number(o) })
  b.writeUInt16BE(sport, 24)
  b.writeUInt16BE(dport, 26)
  return b
}

t.test('PROXY protocol from trusted balancers', async (t) => {
  const balancer = loopback()
  const { redis, backends: [a] } = await meshScenario(t, { nodes: 0 })
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', `proxy.trustedProxies=${balancer}`])
  t.teardown(async () => { await node.stop() })
  const echoHost = loopback()
  const sockets = new Set<Socket>()
  const got: string[] = []
  const echo = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('data', (d: Buffer) => { got.push(d.toString('latin1')); s.write(d) }); s.on('error', () => {}) })
  await new Promise<void>((resolve) => { echo.listen(0, echoHost, resolve) })
  t.teardown(() => { for (const s of sockets) s.destroy(); echo.close() })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'tcp', '--publish', '7000:7000/tcp', '--endpoint', `${echoHost}:${(echo.address() as { port: number }).port}`], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const req = 'GET /headers HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n'

  const v1 = await from(balancer, node.addr, 8080, `PROXY TCP4 203.0.113.7 ${node.addr} 5555 8080\r\n${req}`)
  t.equal(forwardedFor(v1), '203.0.113.7', 'v1: X-Forwarded-For is the client the balancer named (not the balancer, not what the client claimed)')
  const two = await from(balancer, node.addr, 8080, Buffer.concat([v2('198.51.100.9', 4444, '10.0.0.1', 8080), Buffer.from(req)]))
  t.equal(forwardedFor(two), '198.51.100.9', 'v2: the same')
  const plain = await from(balancer, node.addr, 8080, req)
  t.equal(forwardedFor(plain), `6.6.6.6, ${balancer}`, 'a trusted balancer speaking HTTP itself: its X-Forwarded-For appended to')
  const untrusted = await from(undefined, node.addr, 8080, `PROXY TCP4 203.0.113.7 ${node.addr} 5555 8080\r\n${req}`)
  t.match(untrusted, /^HTTP\/1\.1 400 /, 'from anyone else a PROXY header is refused')

  const tcp = await new Promise<string>((resolve) => {
    const s = connect({ host: node.addr, port: 7000, localAddress: balancer }, () => { s.write('PROXY TCP4 203.0.113.7 10.0.0.1 5555 7000\r\nhello') })
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString(); if (out === 'hello') { s.destroy(); resolve(out) } })
    s.on('error', () => { resolve(out) })
  })
  t.equal(tcp, 'hello', 'L4: the session carries the payload')
  t.notOk(got.some((g) => g.includes('PROXY')), 'and the endpoint never sees the balancer\'s header')
})
