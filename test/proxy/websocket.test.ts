import { createHash, randomBytes } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

interface Upgraded { socket: Socket, status: number, headers: Map<string, string>, rest: Buffer }

/** Sends a WebSocket handshake on a raw socket; resolves with the response head and the socket. */
async function upgrade (host: string, port: number, key: string, hostHeader = `${host}:${port}`): Promise<Upgraded> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no handshake answer within 3 s')) }, 3000)
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    socket.on('connect', () => {
      socket.write(`GET /chat HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      clearTimeout(timer)
      socket.off('data', onData)
      socket.pause()
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
      const headers = new Map<string, string>()
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':')
        headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim())
      }
      resolve({ socket, status: Number(lines[0].split(' ')[1]), headers, rest: buf.subarray(end + 4) })
    }
    socket.on('data', onData)
  })
}

/** A masked WebSocket binary frame (client to server) carrying `payload` (< 64 KiB). */
function frame (payload: Buffer): Buffer {
  const mask = randomBytes(4)
  const len = payload.length
  const head = len < 126 ? Buffer.from([0x82, 0x80 | len]) : Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff])
  const body = Buffer.alloc(len)
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3]
  return Buffer.concat([head, mask, body])
}

function acceptFor (key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
}

/** Writes `data` and waits until the same bytes came back. */
async function echoRoundTrip (u: Upgraded, data: Buffer): Promise<Buffer> {
  let got = Buffer.from(u.rest)
  u.rest = Buffer.alloc(0)
  const onData = (c: Buffer): void => { got = Buffer.concat([got, c]) }
  u.socket.on('data', onData)
  u.socket.resume()
  u.socket.write(data)
  try {
    await waitFor(() => got.length >= data.length, { timeout: 3000, what: `${data.length} echoed bytes (got ${got.length})` })
  } finally {
    u.socket.off('data', onData)
    u.socket.pause()
  }
  return got
}

t.test('WebSocket upgrade through the L7 port reaches the backend and echoes both ways', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const backends = await Promise.all(['a', 'b'].map(async (n) => await Backend.start(n)))
  t.teardown(async () => { await Promise.all(backends.map(async (b) => await b.close())) })
  const node = await MeshNode.start('n1', loopback(), redis.url)
  t.teardown(async () => { await node.stop() })

  await meshOk(['service', 'create', '--name', 'ws', '--publish', '8080:80', '-d', ...backends.flatMap((b) => ['--endpoint', b.address])], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'port 8080 served' })

  t.test('101 with the right accept key, frames echo both ways, upgrades round robin', async (t) => {
    const seen: string[] = []
    for (let i = 0; i < 4; i++) {
      const key = randomBytes(16).toString('base64')
      const u = await upgrade(node.addr, 8080, key)
      t.teardown(() => { u.socket.destroy() })
      t.equal(u.status, 101, 'Switching Protocols')
      t.equal(u.headers.get('sec-websocket-accept'), acceptFor(key), 'accept key computed from our key by the backend')
      t.equal(u.headers.get('upgrade')?.toLowerCase(), 'websocket', 'Upgrade: websocket')
      seen.push(u.headers.get('x-backend') ?? '?')
      const small = frame(Buffer.from(`hello ${i}`))
      t.same(await echoRoundTrip(u, small), small, 'a small frame echoes')
      const big = frame(randomBytes(60_000))
      t.same(await echoRoundTrip(u, big), big, 'a 60 KB frame echoes intact')
      u.socket.destroy()
    }
    t.same(seen.sort(), ['a', 'a', 'b', 'b'], `upgrades spread over both endpoints (${seen.join(',')})`)
  })

  t.test('upgrade on a shared port goes by Host; unknown host is refused with 404', async (t) => {
    await meshOk(['service', 'create', '--name', 'wsa', '--publish', '8090:80', '--host', 'a.local', '-d', '--endpoint', backends[0].address], redis.url)
    await meshOk(['service', 'create', '--name', 'wsb', '--publish', '8090:80', '--host', 'b.local', '-d', '--endpoint', backends[1].address], redis.url)
    await waitFor(async () => (await httpGet(`http://${node.addr}:8090/`, { headers: { host: 'b.local' } })).body === 'b\n', { what: 'port 8090 served for b.local' })
    for (const [host, name] of [['a.local', 'a'], ['b.local:8090', 'b']]) {
      const key = randomBytes(16).toString('base64')
      const u = await upgrade(node.addr, 8090, key, host)
      t.equal(u.status, 101, `${host}: 101`)
      t.equal(u.headers.get('x-backend'), name, `${host} reaches ${name}`)
      u.socket.destroy()
    }
    const u = await upgrade(node.addr, 8090, randomBytes(16).toString('base64'), 'nope.local')
    u.socket.destroy()
    t.equal(u.status, 404, 'no service for nope.local: 404')
    t.match(u.rest.toString(), '"nope.local"', 'the 404 names the host')
  })

  t.test('upgrade to an endpoint that refuses: 502 (or the next endpoint)', async (t) => {
    const deadHost = loopback()
    const dead = `${deadHost}:${await freePort(deadHost)}`
    await meshOk(['service', 'create', '--name', 'wsdead', '--publish', '8091:80', '-d', '--endpoint', dead], redis.url)
    await waitFor(async () => (await httpGet(`http://${node.addr}:8091/`)).status === 502, { what: 'port 8091 served (502)' })
    const u = await upgrade(node.addr, 8091, randomBytes(16).toString('base64'))
    u.socket.destroy()
    t.equal(u.status, 502, 'Bad Gateway')
  })

  t.test('an upgrade whose connect fails goes to the next endpoint', async (t) => {
    const deadHost = loopback()
    const dead = `${deadHost}:${await freePort(deadHost)}`
    const live = await Backend.start('wslive')
    t.teardown(async () => { await live.close() })
    await meshOk(['service', 'create', '--name', 'wsretry', '--publish', '8093:80', '-d', '--endpoint', dead, '--endpoint', live.address], redis.url)
    await waitFor(async () => (await httpGet(`http://${node.addr}:8093/`)).status === 200, { what: 'port 8093 served' })
    for (let i = 0; i < 4; i++) {
      const u = await upgrade(node.addr, 8093, randomBytes(16).toString('base64'))
      u.socket.destroy()
      t.equal(u.status, 101, `upgrade ${i}: switched protocols (the dead endpoint was skipped)`)
      t.equal(u.headers.get('x-backend'), 'wslive', `upgrade ${i}: served by the live endpoint`)
    }
  })

  t.test('the upgrade request carries our X-Forwarded-* (client values replaced), not proxy hop-by-hop headers', async (t) => {
    // Answers 101 with the request headers it saw, JSON in one response header.
    const host = loopback()
    const srv = createHttpServer((_req, res) => { res.end('plain\n') })
    srv.on('upgrade', (req, socket: Socket) => {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Seen: ${JSON.stringify(req.headers)}\r\n\r\n`)
    })
    await new Promise<void>((resolve) => { srv.listen(0, host, resolve) })
    t.teardown(async () => { srv.closeAllConnections(); await new Promise<void>((resolve) => { srv.close(() => { resolve() }) }) })
    await meshOk(['service', 'create', '--name', 'wsh', '--publish', '8092:80', '-d', '--endpoint', `${host}:${(srv.address() as { port: number }).port}`], redis.url)
    await waitFor(async () => await httpGet(`http://${node.addr}:8092/`).then(() => true, () => false), { what: 'port 8092 open' })
    const client = loopback()
    const seen = await new Promise<Record<string, string>>((resolve, reject) => {
      const s = connect({ host: node.addr, port: 8092, localAddress: client })
      let buf = ''
      s.setEncoding('latin1')
      s.on('error', reject)
      s.on('data', (c: string) => { buf += c })
      s.on('end', () => { const m = /^x-seen: (.*)$/mi.exec(buf); m === null ? reject(new Error(buf)) : resolve(JSON.parse(m[1].trim()) as Record<string, string>) })
      s.write('GET /ws HTTP/1.1\r\nHost: chat.example:8092\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Version: 13\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nProxy-Authorization: Basic eA==\r\n\r\n')
    })
    t.equal(seen['x-forwarded-for'], client, 'X-Forwarded-For is the client address, not the client-sent one')
    t.equal(seen['x-forwarded-host'], 'chat.example:8092', 'X-Forwarded-Host is the original Host')
    t.equal(seen['x-forwarded-proto'], 'http')
    t.equal(seen['x-forwarded-port'], undefined, 'no X-Forwarded-Port')
    t.equal(seen.host, 'chat.example:8092', 'Host preserved')
    t.equal(seen['proxy-authorization'], undefined, 'Proxy-Authorization removed')
    t.equal(seen.upgrade, 'websocket', 'Upgrade kept')
    t.equal(seen['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==', 'key kept')
  })
})
