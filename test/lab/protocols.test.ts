/**
 * Issue 12 as a user runs it: three node daemons on one registry, services
 * made with the CLI, real clients on every node. HTTPS termination with a
 * cluster certificate (`mesh cert create`, `--publish P:80/https --cert`):
 * curl over HTTP/2 and HTTP/1.1, a replaced certificate on every node's next
 * handshake while an open connection goes on, a session from one node
 * resumed on another; TLS passthrough by SNI (`/tls --host`); gRPC through
 * each node to an h2c endpoint (`--backend h2c`: unary and bidirectional
 * streaming); UDP (`/udp`); a PROXY protocol v2 header to a TCP endpoint
 * (`--proxy-protocol 2`) naming the real client; `--redirect-https`.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createTcpServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer as createTlsServer } from 'node:tls'
import { Client, Server, ServerCredentials, credentials, Metadata, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData, type ServerDuplexStream } from '@grpc/grpc-js'
import { httpGet, mesh, meshOk } from '../helpers/mesh'
import { getOnTls, handshake, selfSigned } from '../helpers/tls-client'
import { freePort, loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

function makeCert (dir: string, name: string, cn: string, sans: string[]): { cert: string, key: string } {
  const c = selfSigned(dir, name, cn, sans)
  return { cert: c.certFile, key: c.keyFile }
}
const hello = handshake
const exchange = getOnTls

async function curl (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => { resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }) })
  })
}

const serialOf = (file: string): string => new X509Certificate(readFileSync(file)).serialNumber

t.test('HTTPS, TLS passthrough, gRPC, UDP and the PROXY protocol through three nodes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-protocols-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const { redis, backends: [web], nodes } = await meshScenario(t, { backends: ['web'], nodes: 3, nodeArgs: ['--manager'] })
  const url = redis.url

  t.test('HTTPS termination with a cluster certificate', async (t) => {
    const v1 = makeCert(dir, 'site-v1', 'site v1', ['a.example', '*.a.example'])
    const v2 = makeCert(dir, 'site-v2', 'site v2', ['a.example', '*.a.example'])
    await meshOk(['cert', 'create', 'site', '--cert', v1.cert, '--key', v1.key], url)
    const port = await freePort('127.0.0.1')
    const plain = await freePort('127.0.0.1')
    await meshOk(['service', 'create', '--name', 'secure', '--publish', `${port}:80/https`, '--publish', `${plain}:80`, '--cert', 'site', '--redirect-https', '--endpoint', web.address], url)

    for (const n of nodes) {
      await waitFor(async () => (await curl(['-k', '--http2', '-o', '/dev/null', '-w', '%{http_code} %{http_version}', '--resolve', `a.example:${port}:${n.addr}`, `https://a.example:${port}/`])).stdout === '200 2',
        { timeout: 15_000, what: `curl --http2 https://a.example on ${n.name}` })
      const h1 = await curl(['-k', '--http1.1', '-D', '-', '--resolve', `www.a.example:${port}:${n.addr}`, `https://www.a.example:${port}/headers`])
      t.match(h1.stdout, /^HTTP\/1\.1 200/, `${n.name}: HTTP/1.1 over TLS, a name the wildcard covers`)
      t.match(h1.stdout, /"x-forwarded-proto","https"/i, 'the backend was told X-Forwarded-Proto: https') // /headers echoes what it received
      const redirect = await httpGet(`http://${n.addr}:${plain}/where?x=1`, { headers: { host: 'a.example' } })
      t.equal(redirect.status, 308, `${n.name}: the plain port redirects (--redirect-https)`)
      t.equal(redirect.headers.location, 'https://a.example/where?x=1', 'to the same path over https')
    }
    const first = await hello(nodes[0].addr, port, 'a.example')
    t.equal(first.serial, serialOf(v1.cert), 'the certificate presented is the one created')

    // A session from node1 resumes on node3: the ticket keys are the cluster's.
    const ticket = await first.ticket
    const resumed = await hello(nodes[2].addr, port, 'a.example', { session: ticket })
    t.ok(resumed.reused, 'a TLS session from node1 resumes on node3')
    resumed.socket.destroy()

    // Replacing the certificate: the next handshake on every node gets it; the open connection goes on.
    t.match(await exchange(first.socket, 'a.example', '/before'), /^HTTP\/1\.1 200/, 'an open connection before the update')
    const at = Date.now()
    await meshOk(['cert', 'update', 'site', '--cert', v2.cert, '--key', v2.key], url)
    for (const n of nodes) {
      await waitFor(async () => {
        const h = await hello(n.addr, port, 'a.example')
        h.socket.destroy()
        return h.serial === serialOf(v2.cert)
      }, { timeout: 10_000, interval: 10, what: `the new certificate on ${n.name}` })
    }
    t.comment(`the new certificate on all three nodes ${Date.now() - at} ms after mesh cert update was run (CLI start-up included)`)
    t.match(await exchange(first.socket, 'a.example', '/after'), /^HTTP\/1\.1 200/, 'the connection opened before the update still answers')
    first.socket.destroy()
  })

  t.test('TLS passthrough by SNI: two services on one port, an unknown name closed', async (t) => {
    const port = await freePort('127.0.0.1')
    const servers = await Promise.all(['one', 'two'].map(async (name) => {
      const c = makeCert(dir, `pt-${name}`, `pt ${name}`, [`${name}.example`])
      const server = createTlsServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (s) => { s.end(`passthrough ${name}\n`) })
      const host = loopback()
      const p = await freePort(host)
      await new Promise<void>((resolve) => { server.listen(p, host, resolve) })
      t.teardown(() => { server.close() })
      return `${host}:${p}`
    }))
    await meshOk(['service', 'create', '--name', 'pt-one', '--publish', `${port}:443/tls`, '--host', 'one.example', '--endpoint', servers[0]], url)
    await meshOk(['service', 'create', '--name', 'pt-two', '--publish', `${port}:443/tls`, '--host', 'two.example', '--endpoint', servers[1]], url)
    const read = async (addr: string, servername: string): Promise<string> => await new Promise((resolve) => {
      const s = connect({ host: addr, port, servername, rejectUnauthorized: false }, () => {})
      let out = ''
      s.on('data', (d: Buffer) => { out += d.toString() })
      s.once('error', () => { resolve(`closed:${out}`) })
      s.once('close', () => { resolve(out) })
    })
    for (const n of nodes) {
      await waitFor(async () => await read(n.addr, 'one.example') === 'passthrough one\n', { timeout: 15_000, what: `one.example through ${n.name}` })
      t.equal(await read(n.addr, 'two.example'), 'passthrough two\n', `${n.name}: two.example reaches its own backend, the TLS end to end`)
      t.match(await read(n.addr, 'three.example'), /^closed:$|^$/, `${n.name}: an unknown name is closed`)
    }
  })

  t.test('gRPC through every node to an h2c endpoint: unary and bidirectional streaming', async (t) => {
    const json = { serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer): unknown => JSON.parse(b.toString()) }
    const SERVICE: ServiceDefinition = {
      Echo: { path: '/lab.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
      Chat: { path: '/lab.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize }
    }
    const server = new Server()
    server.addService(SERVICE, {
      Echo: (call: ServerUnaryCall<{ text: string }, { text: string }>, cb: sendUnaryData<{ text: string }>) => { cb(null, { text: `echo ${call.request.text}` }) },
      Chat: (call: ServerDuplexStream<{ text: string }, { text: string }>) => {
        call.on('data', (m: { text: string }) => { call.write({ text: `re ${m.text}` }) })
        call.on('end', () => { call.end() })
      }
    })
    const host = loopback()
    const grpcPort = await freePort(host)
    await new Promise<void>((resolve, reject) => { server.bindAsync(`${host}:${grpcPort}`, ServerCredentials.createInsecure(), (err) => { if (err !== null) reject(err); else resolve() }) })
    t.teardown(() => { server.forceShutdown() })
    const port = await freePort('127.0.0.1')
    await meshOk(['service', 'create', '--name', 'grpc', '--publish', `${port}:50051`, '--backend', 'h2c', '--endpoint', `${host}:${grpcPort}`], url)
    for (const n of nodes) {
      const client = new Client(`${n.addr}:${port}`, credentials.createInsecure())
      t.teardown(() => { client.close() })
      const unary = async (text: string): Promise<string> => await new Promise((resolve) => {
        client.makeUnaryRequest(SERVICE.Echo.path, json.serialize, json.deserialize as (b: Buffer) => { text: string }, { text }, new Metadata(), { deadline: Date.now() + 3000 },
          (err, res) => { resolve(err !== null ? `error ${err.code}` : res?.text ?? '') })
      })
      await waitFor(async () => await unary('hi') === 'echo hi', { timeout: 15_000, what: `a unary call through ${n.name}` })
      const chat = client.makeBidiStreamRequest(SERVICE.Chat.path, json.serialize, json.deserialize as (b: Buffer) => { text: string }, new Metadata(), { deadline: Date.now() + 5000 })
      const got: string[] = []
      const done = new Promise<number>((resolve) => { chat.on('status', (s: { code: number }) => { resolve(s.code) }) })
      chat.on('data', (m: { text: string }) => {
        got.push(m.text)
        if (got.length < 3) chat.write({ text: `m${got.length + 1}` })
        else chat.end()
      })
      chat.write({ text: 'm1' })
      t.equal(await done, 0, `${n.name}: the stream ends with grpc-status 0 (from the trailers)`)
      t.same(got, ['re m1', 're m2', 're m3'], `${n.name}: each message answered in turn on one stream`)
    }
  })

  t.test('UDP: datagrams through every node, replies from the published address', async (t) => {
    const echo = createSocket('udp4')
    echo.on('message', (m, r) => { echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address) })
    const host = loopback()
    await new Promise<void>((resolve) => { echo.bind(0, host, resolve) })
    t.teardown(() => { echo.close() })
    const port = await freePort('127.0.0.1')
    await meshOk(['service', 'create', '--name', 'dns', '--publish', `${port}:53/udp`, '--endpoint', `${host}:${echo.address().port}`], url)
    for (const n of nodes) {
      const client = createSocket('udp4')
      await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
      t.teardown(() => { client.close() })
      const replies: string[] = []
      client.on('message', (m, r) => { if (r.port === port) replies.push(m.toString()) })
      await waitFor(() => {
        client.send(`q-${n.name}`, port, n.addr)
        return replies.includes(`echo:q-${n.name}`)
      }, { timeout: 15_000, interval: 100, what: `a UDP reply through ${n.name}` })
      t.pass(`${n.name}: a datagram relayed and its reply returned from port ${port}`)
    }
  })

  t.test('PROXY protocol v2 to a TCP endpoint names the real client', async (t) => {
    const heads: Buffer[] = []
    // Everything a connection brings until it holds the header (16 bytes + its length) and the client's 5 bytes.
    const backend = createTcpServer((s: Socket) => {
      let got = Buffer.alloc(0)
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d])
        if (got.length >= 16 && got.length >= 16 + got.readUInt16BE(14) + 5) { heads.push(got); s.end('ok\n') }
      })
    })
    const host = loopback()
    const bport = await freePort(host)
    await new Promise<void>((resolve) => { backend.listen(bport, host, resolve) })
    t.teardown(() => { backend.close() })
    const port = await freePort('127.0.0.1')
    await meshOk(['service', 'create', '--name', 'pp', '--publish', `${port}:9000/tcp`, '--proxy-protocol', '2', '--endpoint', `${host}:${bport}`], url)
    const n = nodes[1]
    const clientAddr = '127.0.0.77'
    await waitFor(async () => await new Promise<boolean>((resolve) => {
      const s = new Socket()
      s.connect({ host: n.addr, port, localAddress: clientAddr }, () => { s.write('hello') })
      let out = ''
      s.on('data', (d: Buffer) => { out += d.toString() })
      s.once('close', () => { resolve(out === 'ok\n') })
      s.once('error', () => { resolve(false) })
    }), { timeout: 15_000, what: `the pp service through ${n.name}` })
    const head = heads[heads.length - 1]
    const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
    t.ok(head.subarray(0, 12).equals(SIG), 'the endpoint got a PROXY v2 signature first')
    t.equal([...head.subarray(16, 20)].join('.'), clientAddr, 'naming the real client\'s address, not the node\'s')
    t.equal(head.subarray(16 + 12).toString(), 'hello', 'then the client\'s bytes')
  })

  t.test('bad input from the CLI is refused and writes nothing', async (t) => {
    const before = await mesh(['service', 'ls', '-q'], url)
    const r = await mesh(['service', 'create', '--name', 'nocert', '--publish', `${await freePort('127.0.0.1')}:80/https`, '--cert', 'nosuch', '--endpoint', web.address], url)
    t.equal(r.code, 1, 'a --cert that does not exist: exit 1')
    t.match(r.stderr, /nosuch/, 'the message names it')
    t.equal((await mesh(['service', 'ls', '-q'], url)).stdout, before.stdout, 'no service written')
  })
})
