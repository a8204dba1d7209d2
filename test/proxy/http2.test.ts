/**
 * HTTP/2 clients on a plain L7 port (h2c with prior knowledge, issue 12):
 * curl, h2load and Node's own client, forwarded to HTTP/1.1 endpoints with
 * the same routing, headers and metrics as HTTP/1.1; a client resetting
 * streams as fast as it can (the 2023 rapid-reset attack) is cut off while
 * another client is served on.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { connect, constants, type ClientHttp2Session } from 'node:http2'
import { promisify } from 'node:util'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const run = promisify(execFile)

async function h2 (session: ClientHttp2Session, path: string, o: { method?: string, body?: string, headers?: Record<string, string | string[]> } = {}): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': o.method ?? 'GET', ...o.headers }, { endStream: o.body === undefined })
    let body = ''
    let headers: Record<string, unknown> = {}
    req.setEncoding('utf8')
    req.on('response', (h) => { headers = h })
    req.on('data', (c: string) => { body += c })
    req.on('end', () => { resolve({ status: Number(headers[':status']), body, headers }) })
    req.on('error', reject)
    if (o.body !== undefined) req.end(o.body)
  })
}

t.test('HTTP/2 with prior knowledge on a plain port', async (t) => {
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const base = `http://${node.addr}:8080`

  t.test('curl --http2-prior-knowledge', async (t) => {
    const { stdout } = await run('curl', ['-s', '--http2-prior-knowledge', '-o', '-', '-w', '\\n%{http_version} %{http_code}', `${base}/`])
    t.match(stdout, /^[ab]\n\n2 200$/, `answered over HTTP/2 by a backend: ${JSON.stringify(stdout)}`)
  })

  t.test('a Node HTTP/2 client: headers, cookies, bodies, many streams on one session', async (t) => {
    const session = connect(base)
    t.teardown(() => { session.close() })
    session.on('error', () => {})
    const seen = a.seen.length + b.seen.length
    const r = await h2(session, '/headers', { headers: { cookie: ['x=1', 'y=2'], 'x-custom': 'v' } })
    t.equal(r.status, 200, '200')
    const got = JSON.parse(r.body) as { rawHeaders: string[], method: string }
    const h = new Map<string, string>()
    for (let i = 0; i < got.rawHeaders.length; i += 2) h.set(got.rawHeaders[i].toLowerCase(), got.rawHeaders[i + 1])
    t.equal(h.get('host'), `${node.addr}:8080`, 'Host from :authority')
    t.equal(h.get('cookie'), 'x=1; y=2', 'the split cookie joined into one line (RFC 9113 8.2.3)')
    t.equal(h.get('x-custom'), 'v', 'other headers passed')
    t.match(h.get('x-forwarded-for'), /^127\./, 'X-Forwarded-For set')
    t.equal(a.seen.length + b.seen.length, seen + 1, 'one upstream request')
    const post = await h2(session, '/count', { method: 'POST', body: 'x'.repeat(100_000) })
    t.equal(post.body, '100000\n', 'a request body streamed through whole')
    const many = await Promise.all(Array.from({ length: 60 }, async () => await h2(session, '/')))
    t.equal(many.filter((m) => m.status === 200).length, 60, '60 concurrent streams on one session, all 200')
    t.ok(many.some((m) => m.body === 'a\n') && many.some((m) => m.body === 'b\n'), 'round robin across both endpoints')
    const head = await h2(session, '/bytes?n=10', { method: 'HEAD' })
    t.equal(head.headers['content-length'], '10', 'HEAD keeps the length')
    t.equal(head.body, '', 'and has no body')
  })

  t.test('h2load: 2,000 requests, 64 streams over 4 connections', async (t) => {
    const { stdout } = await run('h2load', ['-n', '2000', '-c', '4', '-m', '16', `${base}/`], { timeout: 60_000 })
    t.match(stdout, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/, 'all 2,000 succeeded')
    t.match(stdout, /status codes: 2000 2xx/, 'all 2xx')
  })

  t.test('rapid reset: a client opening and cancelling streams non-stop is cut off, others are served', async (t) => {
    const attacker = connect(base)
    attacker.on('error', () => {})
    t.teardown(() => { attacker.destroy() })
    let goaway = false
    attacker.on('goaway', () => { goaway = true })
    attacker.on('close', () => { goaway = true })
    await new Promise<void>((resolve) => { attacker.once('connect', () => { resolve() }) })
    const good = connect(base)
    good.on('error', () => {})
    t.teardown(() => { good.close() })
    let sent = 0
    let goodErrors = 0
    let goodDone = 0
    const attack = (async () => {
      while (!goaway && sent < 100_000) {
        for (let i = 0; i < 100 && !attacker.destroyed && !attacker.closed; i++) {
          try {
            const s = attacker.request({ ':path': '/slow?ms=1000' })
            s.on('error', () => {})
            s.close(constants.NGHTTP2_CANCEL)
            sent++
          } catch {
            goaway = true
            break
          }
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    let attacking = true
    void attack.finally(() => { attacking = false })
    const normal = (async () => {
      // Throughout the attack and for 200 requests after it.
      for (let after = 0; after < 200 && goodDone < 5000; goodDone++) {
        if (!attacking) after++
        try {
          if ((await h2(good, '/')).status !== 200) goodErrors++
        } catch {
          goodErrors++
        }
      }
    })()
    await Promise.all([attack, normal])
    t.comment(`rapid reset: the attacker was sent GOAWAY after ${sent} cancelled streams; the other client made ${goodDone} requests, ${goodErrors} failed`)
    t.ok(goaway, 'the attacking session was closed')
    t.ok(sent < 100_000, `before 100,000 resets (${sent})`)
    t.equal(goodErrors, 0, 'the other client got every answer')
    t.equal((await h2(good, '/')).status, 200, 'and is still served')
  })

  t.test('h2 requests are counted like HTTP/1.1 ones', async (t) => {
    t.ok(await node.metric('mesh_http_requests_total') > 2000, 'in mesh_http_requests_total')
  })
})
