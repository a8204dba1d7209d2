/**
 * Fault: a seeded fuzz run. 100,000 mutated requests (byte flips, CR/LF
 * games, NUL, absurd chunk sizes, long names, cut and doubled spans), one
 * per connection, against a node that forwards what parses. Zero crashes,
 * zero unhandled errors in the node's log, and its memory where it started.
 */
import t from 'tap'
import { connect } from 'node:net'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const REQUESTS = 100_000
const CONCURRENCY = 64
const SEED = 0x5eed

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const CORPUS = [
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /headers?a=1 HTTP/1.1\r\nHost: web.local:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n',
  'POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\n\r\nPOST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc',
  'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
  'GET http://web.local/x HTTP/1.1\r\nHost: other\r\n\r\n',
  'HEAD /bytes?n=10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'POST /count HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody',
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=1.2.3.4\r\nConnection: close, x-a\r\nX-A: 1\r\n\r\n'
]

const INSERTS = ['\r', '\n', '\r\n', '\0', ' ', '\t', ':', '\r\n\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 99999999999999999999\r\n', 'ffffffffffffffffffff\r\n', 'Host: y\r\n']

function mutate (rnd: () => number, text: string): Buffer {
  let b = Buffer.from(text, 'latin1')
  const n = 1 + Math.floor(rnd() * 3)
  for (let m = 0; m < n; m++) {
    const at = Math.floor(rnd() * (b.length + 1))
    switch (Math.floor(rnd() * 7)) {
      case 0: if (b.length > 0) b[Math.min(at, b.length - 1)] ^= 1 << Math.floor(rnd() * 8); break
      case 1: b = Buffer.concat([b.subarray(0, at), Buffer.from(INSERTS[Math.floor(rnd() * INSERTS.length)], 'latin1'), b.subarray(at)]); break
      case 2: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rnd() * 16)))]); break
      case 3: { const end = Math.min(b.length, at + Math.floor(rnd() * 32)); b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]); break }
      case 4: b = Buffer.concat([b.subarray(0, at), Buffer.from(`X-${'n'.repeat(1 + Math.floor(rnd() * 20_000))}: v\r\n`, 'latin1'), b.subarray(at)]); break
      case 5: b = b.subarray(0, at); break
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(at)])
    }
  }
  return b
}

t.test(`seeded fuzz: ${REQUESTS} mutated requests, one per connection`, async (t) => {
  const { redis, backends: [a] } = await meshScenario(t, { nodes: 0 })
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', 'proxy.clientHeadersTimeout=2s'], { nodeFlags: ['--expose-gc'] })
  t.teardown(async () => { await node.stop() })
  void node.exited.then((code) => { if (code !== 0) t.comment(`the node exited (${String(code)}): ${node.log.slice(-4000)}`) })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const sources = Array.from({ length: 16 }, () => loopback())
  const rnd = prng(SEED)
  let next = 0
  let answered = 0
  let rssStart = 0
  let heapStart = 0
  const one = async (): Promise<void> => {
    const i = next++
    const data = mutate(rnd, CORPUS[Math.floor(rnd() * CORPUS.length)])
    const halfClose = rnd() < 0.5
    await new Promise<void>((resolve) => {
      const s = connect({ host: node.addr, port: 8080, localAddress: sources[i % sources.length] })
      const done = (): void => { clearTimeout(timer); s.destroy(); resolve() }
      const timer = setTimeout(done, 300)
      s.on('connect', () => { s.write(data); if (halfClose) s.end() })
      s.once('data', () => { answered++ })
      s.on('error', done)
      s.on('close', done)
    })
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      await one()
      if (next === 10_000 && rssStart === 0) {
        rssStart = -1
        heapStart = await node.heapAfterGc()
        rssStart = node.rssMb()
      }
    }
  }))
  const seconds = (Date.now() - started) / 1000
  await waitFor(async () => await node.metric('mesh_connections_active') === 0, { what: 'every fuzz connection closed', timeout: 15_000 })
  const heapEnd = await node.heapAfterGc()
  const rssEnd = node.rssMb()
  t.comment(`${REQUESTS} mutated requests in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds)}/s), ${answered} got bytes back; ` +
    `node RSS ${rssStart.toFixed(1)} -> ${rssEnd.toFixed(1)} MB (${(100 * (rssEnd - rssStart) / rssStart).toFixed(1)} %), heap after GC ${heapStart.toFixed(1)} -> ${heapEnd.toFixed(1)} MB`)
  t.equal(node.proc.exitCode, null, 'the node never crashed')
  t.equal((await httpGet(`http://${node.addr}:8080/`)).status, 200, 'and still serves')
  const bad = node.log.split('\n').filter((l) => /unhandled|uncaught|TypeError|RangeError|ReferenceError|SyntaxError|^\s+at /i.test(l))
  t.same(bad.slice(0, 5), [], 'no unhandled error in its log')
  // A leak shows as growth: RSS may fall (the allocator handing pages back, CI saw -10.2 %),
  // never rise more than 10 %; the heap after a full GC is the sharper signal of the two.
  t.ok(rssEnd <= rssStart * 1.1, `RSS at most 10 % above where it started (${rssStart.toFixed(1)} -> ${rssEnd.toFixed(1)} MB)`)
  t.ok(heapEnd <= heapStart * 1.1, `heap after GC at most 10 % above where it started (${heapStart.toFixed(1)} -> ${heapEnd.toFixed(1)} MB)`)
})
