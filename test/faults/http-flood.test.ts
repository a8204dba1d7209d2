/**
 * Fault: a connection flood up to and past proxy.maxConnections. The
 * connections beyond the limit are refused at once, a normal keep-alive
 * client keeps getting every answer, and the node's RSS stays bounded.
 */
import t from 'tap'
import { Agent } from 'node:http'
import { connect, type Socket } from 'node:net'
import { httpGet, meshOk, statusOn } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const LIMIT = 3000
const FLOOD = 4500 // client + node descriptors together stay well under the 20,000 of this container

t.test('connection flood past proxy.maxConnections', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', `proxy.maxConnections=${LIMIT}`] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })

  // The normal client holds its connection from before the flood.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const once = async (): Promise<number> => await statusOn(agent, node.addr, 8080)
  t.equal(await once(), 200, 'the normal client is connected')
  const rssBefore = node.rssMb()

  let normalErrors = 0
  let normalDone = 0
  let flooding = true
  const normal = (async () => {
    while (flooding) {
      if (await once() !== 200) normalErrors++
      normalDone++
    }
  })()

  // Batches of 250 (a burst beyond the kernel's accept backlog would only wait in SYN retries):
  // each batch is accepted or refused by the node before the next.
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  let refused = 0
  const refusedAfter: number[] = []
  const started = Date.now()
  for (let sent = 0; sent < FLOOD;) {
    for (let i = 0; i < 250 && sent < FLOOD; i++, sent++) {
      const s = connect({ host: node.addr, port: 8080 })
      const t0 = Date.now()
      s.on('error', () => {})
      s.on('close', () => { refused++; refusedAfter.push(Date.now() - t0) })
      sockets.push(s)
    }
    await waitFor(async () => await node.metric('mesh_connections_active') + await node.metric('mesh_connections_refused_total') >= sent + 1,
      { what: `the node taking ${sent} flood connections`, timeout: 10_000, interval: 10 })
  }
  const over = FLOOD - (LIMIT - 1) // the normal client holds one of the LIMIT
  await waitFor(() => refused >= over, { what: `${over} connections refused (${refused} so far)`, timeout: 10_000 })
  const refusedIn = Date.now() - started
  refusedAfter.sort((x, y) => x - y)
  await new Promise((resolve) => setTimeout(resolve, 1000)) // the normal client keeps going under the full load
  flooding = false
  await normal
  const rssDuring = node.rssMb()
  t.comment(`${FLOOD} connections against maxConnections=${LIMIT}: ${refused} refused, each closed ${refusedAfter[Math.floor(refusedAfter.length / 2)]} ms (median) / ` +
    `${refusedAfter[Math.floor(refusedAfter.length * 0.99)]} ms (p99) after its connect; the flood took ${refusedIn} ms; ` +
    `normal client ${normalDone} requests, ${normalErrors} errors; node RSS ${rssBefore.toFixed(1)} -> ${rssDuring.toFixed(1)} MB`)
  t.equal(refused, over, 'exactly the connections past the limit were refused')
  t.ok(refusedAfter[Math.floor(refusedAfter.length * 0.99)] < 1000, 'each within a second of its connect')
  t.equal(await node.metric('mesh_connections_refused_total'), over, 'and counted')
  t.equal(normalErrors, 0, 'the normal client got every answer')
  t.ok(normalDone > 10, `and kept going (${normalDone} requests)`)
  t.ok(rssDuring - rssBefore < 150, `node RSS bounded: +${(rssDuring - rssBefore).toFixed(1)} MB for ${LIMIT} open connections`)
  for (const s of sockets) s.destroy()
  await waitFor(async () => await node.metric('mesh_connections_active') <= 1, { what: 'the flood gone', timeout: 10_000 })
  t.equal((await httpGet(`http://${node.addr}:8080/`)).status, 200, 'new connections are served once it is over')
})
