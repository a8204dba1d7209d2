import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

/** Resolves with the connect error code, or 'connected'. */
async function tryConnect (host: string, port: number): Promise<string> {
  return await new Promise((resolve) => {
    const s = connect({ host, port })
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: Error & { code?: string }) => { resolve(err.code ?? err.message) })
  })
}

/** A GET on a keep-alive agent; resolves with status and body. */
async function get (url: string, agent: Agent): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      res.on('error', reject)
    })
    req.setTimeout(5000, () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end()
  })
}

t.test('SIGTERM: in-flight request completes, new connections refused, exit 0', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const backend = await Backend.start('a')
  t.teardown(async () => { await backend.close() })
  const node = await MeshNode.start('n1', loopback(), redis.url)
  t.teardown(async () => { await node.stop('SIGKILL') })

  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '-d', '--endpoint', backend.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'port 8080 served' })

  // Keep-alive clients, as browsers and load generators are: one connection left idle,
  // one carrying the slow request. Neither may hold the node up past its in-flight work.
  const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { idleAgent.destroy(); busyAgent.destroy() })
  t.equal((await get(`http://${node.addr}:8080/`, idleAgent)).status, 200, 'idle keep-alive connection established')
  t.equal((await get(`http://${node.addr}:8080/`, busyAgent)).status, 200, 'busy keep-alive connection established')

  const seen = backend.requests
  const started = Date.now()
  let finishedAt = 0
  const inflight = get(`http://${node.addr}:8080/slow?ms=800`, busyAgent).then((r) => { finishedAt = Date.now(); return r })
  await waitFor(() => backend.requests > seen, { what: 'the slow request reached the backend' })
  t.ok(node.proc.kill('SIGTERM'), 'SIGTERM sent')

  const refused = await waitFor(async () => { const r = await tryConnect(node.addr, 8080); return r === 'ECONNREFUSED' ? Date.now() : null }, { timeout: 3000, interval: 10, what: 'new connections refused' })
  t.equal(finishedAt, 0, `new connections were refused while the request was still in flight (${refused - started} ms after it began)`)

  const r = await inflight
  t.equal(r.status, 200, 'the in-flight request completed with 200')
  t.equal(r.body, 'a\n', 'with the backend answer')
  t.ok(finishedAt - started >= 800, `it ran its full course (${finishedAt - started} ms)`)

  const code = await Promise.race([node.exited, new Promise<string>((resolve) => { setTimeout(() => { resolve('still running') }, 5000).unref() })])
  t.equal(code, 0, 'the node exited 0')
  t.ok(Date.now() - finishedAt < 5000, `and promptly after its last request (${Date.now() - finishedAt} ms), not at the end of the grace period`)
})
