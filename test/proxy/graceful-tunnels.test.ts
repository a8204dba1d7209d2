/**
 * Idle tunnels do not hold a shutdown (issue 10, item 10): with an idle
 * WebSocket and an idle TCP session open, SIGTERM ends the node well before
 * node.shutdownGrace; the WebSocket client gets a Close frame (1001, going
 * away) and the TCP client a FIN. A tunnel with traffic still flowing lasts
 * until the deadline.
 */
import t, { type Test } from 'tap'
import { connect, createServer, type Socket } from 'node:net'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

const WS = 'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

async function tcpEcho (t: Test): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); s.pipe(s) })
  const host = loopback()
  await new Promise<void>((resolve) => { server.listen(0, host, resolve) })
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return `${host}:${(server.address() as { port: number }).port}`
}

t.test('SIGTERM closes idle tunnels at the start of the drain', async (t) => {
  const { redis, backends: [a] } = await meshScenario(t, { nodes: 0 })
  const echo = await tcpEcho(t)
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', 'node.shutdownGrace=10s'])
  t.teardown(async () => { await node.stop('SIGKILL') })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'tcp', '--publish', '7000:7000/tcp', '--endpoint', echo], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  const ws = Raw.open(t, node.addr, 8080).send(WS)
  await ws.until(/^HTTP\/1\.1 101 [^]*\r\n\r\n$/, 'the 101')
  const tcp = new Raw(node.addr, 7000)
  t.teardown(() => { tcp.socket.destroy() })
  tcp.send('ping')
  await tcp.until(/ping$/, 'the echo')

  const started = Date.now()
  node.proc.kill('SIGTERM')
  await ws.closedBy('the idle WebSocket closed', 8000)
  await tcp.closedBy('the idle TCP session closed', 8000)
  const closedIn = Date.now() - started
  const code = await node.exited
  const exitedIn = Date.now() - started
  t.comment(`idle WebSocket and TCP session closed ${closedIn} ms after SIGTERM, node exited after ${exitedIn} ms (shutdownGrace 10 s)`)
  t.ok(ws.data.endsWith('\x88\x02\x03\xe9'), 'the WebSocket client got a Close frame, status 1001 (going away)')
  t.ok(exitedIn < 5000, `the node did not wait out its 10 s grace (${exitedIn} ms)`)
  t.equal(code, 0, 'exit 0')
})

t.test('a busy tunnel lasts until the drain deadline', async (t) => {
  const { redis } = await meshScenario(t, { nodes: 0, backends: [] })
  const echo = await tcpEcho(t)
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', 'node.shutdownGrace=2s'])
  t.teardown(async () => { await node.stop('SIGKILL') })
  await meshOk(['service', 'create', '--name', 'tcp', '--publish', '7000:7000/tcp', '--endpoint', echo], redis.url)
  await waitFor(async () => await new Promise<boolean>((resolve) => {
    const s = connect({ host: node.addr, port: 7000 }, () => { s.destroy(); resolve(true) })
    s.on('error', () => { resolve(false) })
  }), { what: 'tcp served' })
  const busy = new Raw(node.addr, 7000)
  t.teardown(() => { busy.socket.destroy() })
  const pump = setInterval(() => { busy.send('x') }, 20)
  t.teardown(() => { clearInterval(pump) })
  await busy.until(/x{5}/, 'traffic flowing')
  const started = Date.now()
  node.proc.kill('SIGTERM')
  await busy.closedBy('the busy session cut at the deadline', 8000)
  const closedIn = Date.now() - started
  t.ok(closedIn >= 1800, `it carried traffic until the 2 s deadline (${closedIn} ms)`)
  t.equal(await node.exited, 0, 'exit 0')
})
