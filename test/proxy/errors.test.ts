import t from 'tap'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

/** host:port where nothing listens (connections are refused). */
async function deadEndpoint (): Promise<string> {
  const host = loopback()
  return `${host}:${await freePort(host)}`
}

t.test('proxy-generated errors and host routing', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const backends = await Promise.all(['a', 'b'].map(async (n) => await Backend.start(n)))
  t.teardown(async () => { await Promise.all(backends.map(async (b) => await b.close())) })
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--set', 'proxy.headersTimeout=300ms'])
  t.teardown(async () => { await node.stop() })
  const [a, b] = backends
  const create = async (name: string, port: number, ...args: string[]): Promise<void> => {
    await meshOk(['service', 'create', '--name', name, '--publish', `${port}:80`, '-d', ...args], redis.url)
    await waitFor(async () => await httpGet(`http://${node.addr}:${port}/`).then(() => true, () => false), { what: `port ${port} open` })
  }

  t.test('502 when every endpoint refuses', async (t) => {
    await create('down', 9001, '--endpoint', await deadEndpoint(), '--endpoint', await deadEndpoint())
    for (let i = 0; i < 4; i++) {
      const r = await httpGet(`http://${node.addr}:9001/x`)
      t.equal(r.status, 502, 'Bad Gateway')
      t.equal(r.headers['x-mesh-error'], 'MESH_ERR_UPSTREAM', 'error code header')
      t.match(r.body, /service "down"/, 'body names the service')
    }
  })

  t.test('a refused connect goes to the next endpoint: every request succeeds', async (t) => {
    await create('half', 9002, '--endpoint', await deadEndpoint(), '--endpoint', a.address)
    for (let i = 0; i < 10; i++) {
      const r = await httpGet(`http://${node.addr}:9002/`)
      t.equal(r.status, 200, `GET ${i}: 200`)
      t.equal(r.body, 'a\n', `GET ${i}: served by the live endpoint`)
    }
  })

  t.test('a POST whose connect failed is retried too, with its whole body', async (t) => {
    await create('halfpost', 9003, '--endpoint', await deadEndpoint(), '--endpoint', b.address)
    const body = 'x'.repeat(100_000)
    for (let i = 0; i < 6; i++) {
      const r = await httpGet(`http://${node.addr}:9003/count`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
      t.equal(r.status, 200, `POST ${i}: 200`)
      t.equal(r.body, `${body.length}\n`, `POST ${i}: the backend got every byte`)
    }
  })

  t.test('503 naming the service when no endpoint is healthy', async (t) => {
    const sick = await Backend.start('sick')
    t.teardown(async () => { await sick.close() })
    sick.healthy = false
    await create('sick', 9004, '--endpoint', sick.address, '--health-path', '/health', '--health-interval', '200ms', '--health-timeout', '150ms')
    const r = await waitFor(async () => { const r = await httpGet(`http://${node.addr}:9004/`); return r.status === 503 ? r : null }, { what: '503 on 9004' })
    t.equal(r.headers['x-mesh-error'], 'MESH_ERR_NO_HEALTHY_ENDPOINT')
    t.match(r.body, /no healthy endpoint for service "sick"/, 'body names the service')
    sick.healthy = true
    await waitFor(async () => (await httpGet(`http://${node.addr}:9004/`)).body === 'sick\n', { what: 'the endpoint serving once its check passes' })
    t.pass('the same endpoint takes traffic once its check passes')
  })

  t.test('504 when the endpoint does not answer within proxy.headersTimeout', async (t) => {
    await create('slow', 9006, '--endpoint', a.address)
    const started = Date.now()
    const r = await httpGet(`http://${node.addr}:9006/slow?ms=2000`)
    t.equal(r.status, 504, 'Gateway Timeout')
    t.equal(r.headers['x-mesh-error'], 'MESH_ERR_UPSTREAM_TIMEOUT')
    t.match(r.body, /service "slow"/, 'body names the service')
    // undici checks header timeouts on a coarse (~0.5 s) tick: 300 ms fires within ~1 s
    t.ok(Date.now() - started < 1900, `answered after the 300 ms timeout, not the backend's 2 s (${Date.now() - started} ms)`)
    t.equal((await httpGet(`http://${node.addr}:9006/slow?ms=10`)).status, 200, 'a fast answer still passes')
  })

  t.test('host routing on a shared port; 404 naming the host when none matches', async (t) => {
    await meshOk(['service', 'create', '--name', 'ha', '--publish', '9010:80', '--host', 'a.local', '-d', '--endpoint', a.address], redis.url)
    await meshOk(['service', 'create', '--name', 'hb', '--publish', '9010:80', '--host', '*.b.local', '-d', '--endpoint', b.address], redis.url)
    const get = async (host: string): Promise<{ status: number, body: string, headers: Record<string, unknown> }> => await httpGet(`http://${node.addr}:9010/`, { headers: { host } })
    await waitFor(async () => (await get('x.b.local')).status === 200 && (await get('a.local')).status === 200, { what: 'both hosts served on 9010' })
    for (const [host, name] of [['a.local', 'a'], ['A.Local:9010', 'a'], ['api.b.local', 'b'], ['deep.api.b.local', 'b'], ['x.b.local.', 'b']]) {
      const r = await get(host)
      t.equal(r.status, 200, `${host}: 200`)
      t.equal(r.body, `${name}\n`, `${host} answered by ${name}`)
    }
    for (const host of ['b.local', 'c.local', 'a.local.evil']) {
      const r = await get(host)
      t.equal(r.status, 404, `${host}: 404`)
      t.match(r.body, `"${host}"`, 'body names the host')
      t.equal(r.headers['x-mesh-error'], 'MESH_ERR_NO_ROUTE')
    }
  })
})
