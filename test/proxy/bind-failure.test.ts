import t from 'tap'
import { createServer } from 'node:net'
import { Backend } from '../helpers/backend'
import { MeshNode, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

t.test('a published port that cannot be bound is logged and counted, then retried until it can', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const a = await Backend.start('a')
  t.teardown(async () => { await a.close() })
  const addr = loopback()
  const squatter = createServer()
  await new Promise<void>((resolve) => squatter.listen(8080, addr, resolve))
  const node = await MeshNode.start('n1', addr, redis.url)
  t.teardown(async () => { await node.stop() })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)

  await waitFor(async () => (await node.metric('mesh_listeners', 'state="failed"')) === 1, { what: 'listener reported failed' })
  const line = new RegExp(`cannot listen on ${addr.replace(/\./g, '\\.')}:8080 \\(EADDRINUSE\\)`)
  await waitFor(() => line.test(node.log), { what: 'the bind failure logged' })
  t.pass('one clear log line names the address and the error')
  t.ok(await node.metric('mesh_listener_bind_failures_total') >= 1, 'bind failures counted')
  t.equal(node.proc.exitCode, null, 'the node keeps running')

  await new Promise<void>((resolve) => squatter.close(() => { resolve() }))
  await waitFor(async () => (await httpGet(`http://${addr}:8080/`)).body === 'a\n', { timeout: 5000, what: 'port bound after it was freed' })
  t.equal(await node.metric('mesh_listeners', 'state="open"'), 1, 'listener open')
  t.equal((node.log.match(/cannot listen on/g) ?? []).length, 1, 'logged once, not once per retry')
})
