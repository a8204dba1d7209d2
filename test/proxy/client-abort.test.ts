import t from 'tap'
import { request } from 'node:http'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

t.test('a client that goes away mid-response aborts the upstream request', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t)
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  await waitFor(() => a.sockets.size === 1, { what: 'one pooled upstream connection' })
  const [upstream] = a.sockets

  // A 1 GB download the client abandons after the first megabyte.
  await new Promise<void>((resolve, reject) => {
    const req = request(`http://${node.addr}:8080/bytes?n=${1024 ** 3}`, { agent: false }, (res) => {
      let got = 0
      res.on('data', (c: Buffer) => {
        got += c.length
        if (got > 1024 * 1024) { req.destroy(); resolve() }
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET') reject(err) })
    req.end()
  })
  // That connection itself must close (undici may open a spare one to the endpoint: nodejs/undici#5845).
  await waitFor(() => upstream.destroyed, { timeout: 3000, what: 'the upstream connection of the abandoned download closed' })
  t.pass('upstream aborted when the client left')
  t.equal((await httpGet(`http://${node.addr}:8080/`)).body, 'a\n', 'the node still serves')
})
