import { createHash, randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import t from 'tap'
import { MeshNode, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

/**
 * A TCP echo server: says "<name>\n" first, echoes every byte, and when the
 * client half-closes it answers "bye <name>\n" and only then ends its side.
 * That last line can only arrive if the proxy carries the client's FIN
 * upstream while keeping the way back open.
 */
class Echo {
  readonly name: string
  readonly host = loopback()
  port = 0
  readonly server: Server
  readonly sockets = new Set<Socket>()

  constructor (name: string) {
    this.name = name
    this.server = createServer({ allowHalfOpen: true }, (s) => {
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
      s.on('error', () => {})
      s.write(`${name}\n`)
      s.on('data', (c: Buffer) => { s.write(c) })
      s.on('end', () => { s.end(`bye ${name}\n`) })
    })
  }

  get address (): string { return `${this.host}:${this.port}` }

  async listen (): Promise<this> {
    await new Promise<void>((resolve) => { this.server.listen(0, this.host, resolve) })
    const a = this.server.address()
    this.port = typeof a === 'object' && a !== null ? a.port : 0
    return this
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
  }
}

interface Session { received: string, ended: boolean, closed: boolean, error: string }

/** Connects, sends `send`, half-closes, and collects everything until the socket closes. */
async function session (host: string, port: number, send: string | Buffer, halfClose = true): Promise<Session> {
  return await new Promise((resolve) => {
    const out: Session = { received: '', ended: false, closed: false, error: '' }
    const s = connect({ host, port, allowHalfOpen: true })
    const timer = setTimeout(() => { out.error = 'timeout'; s.destroy() }, 5000)
    s.setEncoding('latin1')
    s.on('data', (c: string) => { out.received += c })
    s.on('end', () => { out.ended = true })
    s.on('error', (err: Error & { code?: string }) => { out.error = err.code ?? err.message })
    s.on('close', () => { clearTimeout(timer); out.closed = true; resolve(out) })
    s.on('connect', () => {
      s.write(send)
      if (halfClose) s.end()
    })
  })
}

/** First line a fresh connection receives (the echo server's name). */
async function firstLine (host: string, port: number): Promise<string> {
  const r = await session(host, port, '')
  if (r.error !== '') throw new Error(`connection to ${host}:${port} failed: ${r.error}`)
  return r.received.split('\n')[0]
}

t.test('L4 TCP through a node: round robin per connection, half-close, failover on connect failure', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const echoes = await Promise.all(['a', 'b'].map(async (n) => await new Echo(n).listen()))
  t.teardown(async () => { await Promise.all(echoes.map(async (e) => await e.close())) })
  const node = await MeshNode.start('n1', loopback(), redis.url)
  t.teardown(async () => { await node.stop() })

  await meshOk(['service', 'create', '--name', 'echo', '--publish', '7000:7000/tcp', '-d', ...echoes.flatMap((e) => ['--endpoint', e.address])], redis.url)
  await waitFor(async () => await firstLine(node.addr, 7000).then((l) => l === 'a' || l === 'b', () => false), { what: 'L4 port 7000 served' })

  t.test('each new connection goes to the next endpoint', async (t) => {
    const names: string[] = []
    for (let i = 0; i < 10; i++) names.push(await firstLine(node.addr, 7000))
    for (let i = 1; i < names.length; i++) t.not(names[i], names[i - 1], `connection ${i} changes endpoint (${names.join(',')})`)
    t.same(names.filter((n) => n === 'a').length, 5, '5 of 10 connections to a')
  })

  t.test('half-close: client FIN reaches the backend, the echo and its answer still come back, then the connection closes', async (t) => {
    const payload = Buffer.alloc(1024 * 1024, 'x')
    for (let i = 0; i < 2; i++) {
      const r = await session(node.addr, 7000, payload)
      t.equal(r.error, '', 'no socket error')
      const name = r.received.split('\n')[0]
      t.ok(name === 'a' || name === 'b', `greeted by ${name}`)
      t.equal(r.received.length, `${name}\n`.length + payload.length + `bye ${name}\n`.length, 'every echoed byte arrived')
      t.ok(r.received.endsWith(`x\nbye ${name}\n`) || r.received.endsWith(`xbye ${name}\n`), 'the backend answered the FIN after the echo')
      t.ok(r.ended, 'the proxy passed the backend FIN back')
      t.ok(r.closed, 'connection closed')
    }
  })

  t.test('bulk and small reads on concurrent connections arrive intact (the shared read buffer never mixes them)', async (t) => {
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
    // Two bulk sessions (big reads: own buffers handed to the client) and six chatty ones (small reads: shared buffer).
    const payloads = [randomBytes(8 * 1024 * 1024), randomBytes(8 * 1024 * 1024), ...Array.from({ length: 6 }, () => randomBytes(200 * 1024))]
    const results = await Promise.all(payloads.map(async (payload, i) => await new Promise<Buffer>((resolve, reject) => {
      const s = connect({ host: node.addr, port: 7000, allowHalfOpen: true })
      const chunks: Buffer[] = []
      let sincePause = 0
      s.on('data', (c: Buffer) => {
        chunks.push(c)
        // Bulk readers stall now and then: the node's writes to them then queue (and must own their bytes).
        sincePause += c.length
        if (i < 2 && sincePause > 512 * 1024) {
          sincePause = 0
          s.pause()
          setTimeout(() => { s.resume() }, 10)
        }
      })
      s.on('error', reject)
      s.on('end', () => { s.end(); resolve(Buffer.concat(chunks)) })
      s.on('connect', () => {
        if (i < 2) { s.end(payload); return }
        // Small writes spread over time so the reads stay small.
        let at = 0
        const step = (): void => {
          if (at >= payload.length) { s.end(); return }
          s.write(payload.subarray(at, at + 1500))
          at += 1500
          setImmediate(step)
        }
        step()
      })
    })))
    results.forEach((got, i) => {
      const name = got.subarray(0, 2).toString()
      const body = got.subarray(2, got.length - `bye ${name}`.length)
      t.equal(body.length, payloads[i].length, `connection ${i}: every byte came back`)
      t.equal(sha(body), sha(payloads[i]), `connection ${i}: the same bytes, in order`)
    })
  })

  t.test('a long session echoes in both directions while open', async (t) => {
    const s = connect({ host: node.addr, port: 7000 })
    t.teardown(() => { s.destroy() })
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (c: string) => { got += c })
    await waitFor(() => got.includes('\n'), { what: 'greeting' })
    for (let i = 0; i < 20; i++) {
      const line = `ping ${i}\n`
      s.write(line)
      await waitFor(() => got.endsWith(line), { timeout: 2000, what: `echo of ${line.trim()}` })
    }
    t.pass('20 round trips on one connection')
  })

  t.test('a dead endpoint: connect failure goes to the next endpoint, every connection succeeds', async (t) => {
    const deadHost = loopback()
    const dead = `${deadHost}:${await freePort(deadHost)}`
    await meshOk(['service', 'create', '--name', 'echo2', '--publish', '7001:7000/tcp', '-d', '--endpoint', dead, '--endpoint', echoes[1].address], redis.url)
    await waitFor(async () => await firstLine(node.addr, 7001).then(() => true, () => false), { what: 'L4 port 7001 served' })
    for (let i = 0; i < 8; i++) {
      const r = await session(node.addr, 7001, `hello ${i}\n`)
      t.equal(r.error, '', `connection ${i}: no error`)
      t.equal(r.received, `b\nhello ${i}\nbye b\n`, `connection ${i} served by the live endpoint`)
    }
  })
})
