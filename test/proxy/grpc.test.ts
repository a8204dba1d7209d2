/**
 * gRPC end to end through an L7 port whose service speaks HTTP/2 to its
 * endpoints (`backend: h2c`, issue 12), with @grpc/grpc-js on both ends:
 * unary calls with metadata, a status and message from the server relayed in
 * the trailers, bidirectional streaming, a deadline that cancels the
 * server's call, and an unreachable endpoint reported as UNAVAILABLE.
 */
import t from 'tap'
import { Client, Server, ServerCredentials, credentials, status, Metadata, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData, type ServerDuplexStream } from '@grpc/grpc-js'
import { freePort, loopback } from '../helpers/ports'
import { l7Listener, route } from '../helpers/listener'
import { waitFor } from '../helpers/wait'

const json = { serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer): unknown => JSON.parse(b.toString()) }
const SERVICE: ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  Chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize }
}

interface Msg { text: string, wait?: number, fail?: boolean }

t.test('gRPC through the mesh to an h2c endpoint', async (t) => {
  let cancelled = 0
  const server = new Server()
  server.addService(SERVICE, {
    Echo: (call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) => {
      if (call.request.fail === true) { cb({ code: status.NOT_FOUND, details: `no ${call.request.text}` }); return }
      const md = new Metadata()
      md.set('x-served-by', 'grpc-a')
      call.sendMetadata(md)
      call.on('cancelled', () => { cancelled++ })
      setTimeout(() => { if (!call.cancelled) cb(null, { text: `echo ${call.request.text} ${String(call.metadata.get('x-client')[0] ?? '')}` }) }, call.request.wait ?? 0)
    },
    Chat: (call: ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => { call.write({ text: `re ${m.text}` }) })
      call.on('end', () => { call.end() })
    }
  })
  const backendHost = loopback()
  const backendPort = await freePort(backendHost)
  await new Promise<void>((resolve, reject) => { server.bindAsync(`${backendHost}:${backendPort}`, ServerCredentials.createInsecure(), (err) => { if (err !== null) reject(err); else resolve() }) })
  t.teardown(() => { server.forceShutdown() })
  const host = loopback()
  const dead = `${loopback()}:${await freePort()}`
  const { port } = await l7Listener(t, host, [route('grpc', 8080, [`${backendHost}:${backendPort}`], [], { backend: 'h2c' })])
  const client = new Client(`${host}:${port}`, credentials.createInsecure())
  t.teardown(() => { client.close() })
  const unary = async (m: Msg, o: { deadline?: number, c?: Client } = {}): Promise<{ err: { code: number, details: string } | null, res: Msg | null, served: string }> => await new Promise((resolve) => {
    const md = new Metadata()
    md.set('x-client', 'c1')
    let served = ''
    const call = (o.c ?? client).makeUnaryRequest(SERVICE.Echo.path, json.serialize, json.deserialize as (b: Buffer) => Msg, m, md,
      o.deadline !== undefined ? { deadline: Date.now() + o.deadline } : {}, (err, res) => { resolve({ err: err === null ? null : { code: err.code, details: err.details }, res: res ?? null, served }) })
    call.on('metadata', (h: Metadata) => { served = String(h.get('x-served-by')[0] ?? '') })
  })

  const ok = await unary({ text: 'hi' })
  t.same(ok.res, { text: 'echo hi c1' }, 'a unary call answered, with the client\'s metadata passed on')
  t.equal(ok.served, 'grpc-a', 'and the server\'s response metadata relayed')
  const notFound = await unary({ text: 'thing', fail: true })
  t.same(notFound.err, { code: status.NOT_FOUND, details: 'no thing' }, 'a status and message from the server arrive in the trailers')

  const chat = client.makeBidiStreamRequest(SERVICE.Chat.path, json.serialize, json.deserialize as (b: Buffer) => Msg, new Metadata(), {})
  const replies: string[] = []
  chat.on('data', (m: Msg) => { replies.push(m.text) })
  const ended = new Promise<void>((resolve) => { chat.on('status', () => { resolve() }) })
  for (let i = 0; i < 100; i++) chat.write({ text: String(i) })
  chat.end()
  await ended
  t.equal(replies.length, 100, 'bidirectional streaming: 100 messages each way')
  t.equal(replies[99], 're 99', 'in order')

  const slow = await unary({ text: 'slow', wait: 2000 }, { deadline: 300 })
  t.equal(slow.err?.code, status.DEADLINE_EXCEEDED, 'a call past its deadline fails DEADLINE_EXCEEDED')
  await waitFor(() => cancelled === 1, { what: 'the server\'s call cancelled', timeout: 3000 })
  t.pass('and the server saw it cancelled (the deadline reached it)')

  const deadHost = loopback()
  const { port: deadPort } = await l7Listener(t, deadHost, [route('gone', 8081, [dead], [], { backend: 'h2c' })])
  const goneClient = new Client(`${deadHost}:${deadPort}`, credentials.createInsecure())
  t.teardown(() => { goneClient.close() })
  const gone = await unary({ text: 'x' }, { c: goneClient })
  t.equal(gone.err?.code, status.UNAVAILABLE, 'an unreachable endpoint: UNAVAILABLE')
})
