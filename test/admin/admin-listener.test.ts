/**
 * The admin listener (issue 11): bound where `--admin` says (a bare port:
 * the advertise address, not every interface); /metrics and /healthz open;
 * the dashboard, its event stream and /debug/gc behind node.adminToken; no
 * credential in any admin response.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { request } from 'node:http'
import t from 'tap'
import { CLI, FAST, httpGet, MeshNode, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

async function refused (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect({ host, port })
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => { resolve(true) })
  })
}

/** The first `n` events of GET /events (raw text), or what came before `ms` passed. */
async function events (url: string, n: number, ms = 5000): Promise<{ status: number, type: string, text: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let text = ''
      const done = (): void => { clearTimeout(timer); req.destroy(); resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }) }
      const timer = setTimeout(done, ms)
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c; if (text.split('\n\n').filter((b) => b.includes('event: ')).length >= n) done() })
      res.on('end', done)
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('--admin PORT binds the advertise address only; without a token only /metrics and /healthz answer', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const addr = loopback()
  const other = loopback()
  const port = await freePort(addr)
  const set = FAST.flatMap((kv) => ['--set', kv])
  const proc = spawn(process.execPath, [CLI, 'node', 'start', '--name', 'bare', '--advertise', addr, '--admin', String(port), '--redis', redis.url, ...set],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESH_NODE_ADMIN_TOKEN: '' } })
  const node = new MeshNode('bare', addr, proc)
  t.teardown(async () => { await node.stop() })
  await waitFor(async () => (await httpGet(`http://${addr}:${port}/healthz`)).status === 200, { what: `admin on ${addr}:${port} (log: ${node.log})` })
  t.ok(await refused(other, port), `nothing on ${other}:${port}: not bound to every interface`)
  t.ok(await refused('127.0.0.1', port) || (await httpGet(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0 }))).status !== 200, 'nor on 127.0.0.1')
  t.equal((await httpGet(`http://${addr}:${port}/metrics`)).status, 200, '/metrics needs no token')
  for (const [path, method] of [['/', 'GET'], ['/events', 'GET'], ['/debug/gc', 'POST'], ['/anything', 'GET']]) {
    const r = await httpGet(`http://${addr}:${port}${path}?token=guess`, { method, headers: { authorization: 'Bearer guess' } })
    t.equal(r.status, 403, `${method} ${path} without a configured token: 403`)
    t.match(r.body, /node\.adminToken/, 'says how to turn it on')
  }
})

t.test('with node.adminToken: the dashboard and its events need it, by header or query; no credential in any admin response', async (t) => {
  // A password-protected registry, a token, and a service whose environment holds a secret.
  const password = `pw-${Math.random().toString(36).slice(2)}`
  const token = `tok-${Math.random().toString(36).slice(2)}`
  const secret = `env-secret-${Math.random().toString(36).slice(2)}`
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const admin = redis.client()
  await admin.config('SET', 'requirepass', password)
  admin.disconnect()
  const url = `redis://:${password}@127.0.0.1:${redis.port}`
  const addr = loopback()
  const port = await freePort(addr)
  const set = FAST.flatMap((kv) => ['--set', kv])
  const proc = spawn(process.execPath, [CLI, 'node', 'start', '--name', 'tok', '--advertise', addr, '--admin', `${addr}:${port}`, '--manager', ...set],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESH_REDIS_URL: url, MESH_NODE_ADMIN_TOKEN: token } })
  const node = new MeshNode('tok', addr, proc)
  t.teardown(async () => { await node.stop() })
  const base = `http://${addr}:${port}`
  await waitFor(async () => (await httpGet(`${base}/healthz`)).status === 200, { what: `admin on ${base} (log: ${node.log})` })
  await meshOk(['service', 'create', '--name', 'db', '--env', `DB_PASSWORD=${secret}`, '--endpoint', '127.0.0.1:9', '--publish', `${await freePort(addr)}:9`], url)

  const bodies: Array<[string, string]> = []
  const keep = (what: string, r: { status: number, body?: string, text?: string, headers?: Record<string, unknown> }): void => {
    bodies.push([what, `${JSON.stringify(r.headers ?? {})}\n${r.body ?? r.text ?? ''}`])
  }
  const noToken = await httpGet(`${base}/`)
  keep('GET / without token', noToken)
  t.equal(noToken.status, 401)
  t.equal(noToken.headers['www-authenticate'], 'Bearer realm="routemesh admin"')
  const browser = await httpGet(`${base}/`, { headers: { accept: 'text/html' } })
  keep('GET / without token (browser)', browser)
  t.equal(browser.status, 401, 'a browser without the token gets the token prompt, 401')
  t.match(browser.body, /Admin token/)
  t.equal((await httpGet(`${base}/?token=wrong`)).status, 401, 'a wrong token: 401')
  t.equal((await httpGet(`${base}/`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
  t.equal((await httpGet(`${base}/events?token=wrong`)).status, 401, '/events: 401 without the token')
  t.equal((await httpGet(`${base}/debug/gc`, { method: 'POST' })).status, 401, '/debug/gc: 401 without the token')
  t.equal((await httpGet(`${base}/debug/gc`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 404, 'with it: there is no /debug/gc without --expose-gc')

  const page = await httpGet(`${base}/`, { headers: { authorization: `Bearer ${token}` } })
  keep('GET / with Bearer', page)
  t.equal(page.status, 200, 'the dashboard with Authorization: Bearer')
  t.match(String(page.headers['content-security-policy']), /script-src 'sha256-/, 'only its own inlined script may run')
  const byQuery = await httpGet(`${base}/?token=${token}`)
  keep('GET /?token=', byQuery)
  t.equal(byQuery.status, 200, 'and with ?token=')
  t.equal((await httpGet(`${base}/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 405, 'read-only')

  const stream = await events(`${base}/events?token=${token}`, 2)
  keep('GET /events', stream)
  t.equal(stream.status, 200)
  t.match(stream.type, /^text\/event-stream/)
  t.match(stream.text, /event: view\ndata: \{.*"name":"db"/, 'the view lists the service')
  t.match(stream.text, /event: stats\ndata: \{/)
  t.ok(stream.text.includes('DB_PASSWORD') === false, 'no environment in the view')
  keep('GET /metrics', await httpGet(`${base}/metrics`))
  keep('GET /healthz', await httpGet(`${base}/healthz`))
  keep('GET /nosuch', await httpGet(`${base}/nosuch?token=${token}`))
  for (const [what, text] of bodies) {
    for (const [name, value] of [['the Redis password', password], ['the admin token', token], ['the service env value', secret]]) {
      t.notOk(text.includes(value), `${what}: no ${name}`)
    }
  }
})
