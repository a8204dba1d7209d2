/**
 * Clients that do not read (issue 9, defects 3 and 4): a pipelined flood
 * never makes the node buffer without bound, whatever answers it (generated
 * 404 / 503, forwarded HEAD); a client that takes no bytes is cut after
 * proxy.clientSendTimeout, freeing its upstream connection; a request
 * waiting for a free upstream connection gets 503 MESH_ERR_QUEUE_TIMEOUT
 * after proxy.queueTimeout, and the wait queue is bounded (MESH_ERR_QUEUE_FULL).
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

/** Writes `count` copies of `request` on one connection without ever reading; resolves with the socket once written or stuck. */
async function flood (host: string, port: number, request: string, count: number): Promise<Socket> {
  const s = connect({ host, port })
  s.on('error', () => {})
  await new Promise<void>((resolve) => { s.once('connect', resolve) })
  s.pause() // never read an answer
  const batch = request.repeat(500)
  for (let sent = 0; sent < count; sent += 500) {
    if (!s.write(batch)) {
      // The node stopped reading (as it should): give it a moment to drain, then stop when it does not.
      const drained = await Promise.race([new Promise<boolean>((resolve) => { s.once('drain', () => { resolve(true) }) }), new Promise<boolean>((resolve) => setTimeout(() => { resolve(false) }, 500))])
      if (!drained) break
    }
  }
  return s
}

t.test('pipelined floods from a client that never reads stay bounded', async (t) => {
  const { redis, backends: [a] } = await meshScenario(t, { nodes: 0 })
  const node = await MeshNode.start('n1', loopback(), redis.url, [], { nodeFlags: ['--expose-gc'] })
  t.teardown(async () => { await node.stop() })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'named', '--publish', '8081:80', '--host', 'named.local', '--endpoint', a.address], redis.url)
  await meshOk(['service', 'create', '--name', 'empty', '--publish', '8082:80', '--replicas', '0', '--', 'mesh', 'whoami'], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200 && (await httpGet(`http://${node.addr}:8082/`)).status === 503, { what: 'services served' })
  for (let i = 0; i < 200; i++) await httpGet(`http://${node.addr}:8081/`, { headers: { host: 'nosuch.local' } }) // warm the 404 path
  const before = await node.heapAfterGc()
  const rssBefore = node.rssMb()
  const floods = await Promise.all([
    flood(node.addr, 8081, 'GET / HTTP/1.1\r\nHost: nosuch.local\r\n\r\n', 60_000),
    flood(node.addr, 8082, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 60_000),
    flood(node.addr, 8080, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', 60_000)
  ])
  t.teardown(() => { for (const s of floods) s.destroy() })
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const normal = Date.now()
  t.equal((await httpGet(`http://${node.addr}:8080/`)).status, 200, 'a normal client is served during the floods')
  t.ok(Date.now() - normal < 1000, `promptly (${Date.now() - normal} ms)`)
  const grown = await node.heapAfterGc() - before
  t.comment(`3 flooding connections (404, 503, HEAD) that never read: heap after GC +${grown.toFixed(2)} MB, RSS +${(node.rssMb() - rssBefore).toFixed(1)} MB`)
  t.ok(grown < 3, `what the node holds for them stays bounded (~1 MB per connection at most): +${grown.toFixed(2)} MB`)
})

t.test('a client that takes no bytes, and requests waiting for a busy endpoint', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, {
    nodeArgs: ['--set', 'proxy.upstreamConnections=2', '--set', 'proxy.queueTimeout=1s', '--set', 'proxy.maxQueued=1', '--set', 'proxy.clientSendTimeout=3s']
  })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  // Two downloads that are never read pin both upstream connections.
  const stalled = [Raw.open(t, node.addr, 8080), Raw.open(t, node.addr, 8080)]
  for (const s of stalled) {
    s.send('GET /bytes?n=200000000 HTTP/1.1\r\nHost: x\r\n\r\n')
    s.socket.pause()
  }
  await waitFor(() => a.seen.filter((r) => r.url.startsWith('/bytes')).length === 2, { what: 'both downloads upstream' })

  const started = Date.now()
  const waited = httpGet(`http://${node.addr}:8080/`, { timeout: 8000 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const full = await httpGet(`http://${node.addr}:8080/`, { timeout: 8000 })
  t.equal(full.status, 503, 'a second waiter beyond proxy.maxQueued (1): 503 at once')
  t.equal(full.headers['x-mesh-error'], 'MESH_ERR_QUEUE_FULL', 'MESH_ERR_QUEUE_FULL')
  const queued = await waited
  t.equal(queued.status, 503, 'a request that found no free upstream connection: 503')
  t.equal(queued.headers['x-mesh-error'], 'MESH_ERR_QUEUE_TIMEOUT', 'MESH_ERR_QUEUE_TIMEOUT')
  t.ok(Date.now() - started < 4000, `after about proxy.queueTimeout (1 s): ${Date.now() - started} ms`)

  await waitFor(async () => await node.metric('mesh_http_client_timeouts_total', 'kind="send"') === 2, { what: 'two send timeouts', timeout: 10_000 })
  t.ok(Date.now() - started < 9000, `both clients that took no bytes were cut after proxy.clientSendTimeout (3 s): ${Date.now() - started} ms after the queue test began`)
  for (const s of stalled) s.socket.resume() // (a paused socket does not see its peer close)
  await Promise.all(stalled.map(async (s) => { await s.closedBy('the cut connection seen by its client', 10_000) }))
  const after = await httpGet(`http://${node.addr}:8080/`)
  t.equal(after.status, 200, 'their upstream connections are free again')
})
