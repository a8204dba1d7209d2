/**
 * UDP relay (issue 12): 100,000 datagrams from 20 clients through one
 * listener to two echo endpoints: none lost or misdelivered, each flow stuck
 * to one endpoint and the flows spread across both, the mapping countable;
 * a flow whose endpoint leaves the table moves with its next datagram; idle
 * flows expire.
 */
import t, { type Test } from 'tap'
import { createSocket, type Socket } from 'node:dgram'
import { PortEntry } from '../../lib/table/routing-table'
import { UdpListener } from '../../lib/proxy/udp-listener'
import { route } from '../helpers/listener'
import { loopback } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

async function bound (s: Socket, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve) => { s.bind(port, host, resolve) })
  return s.address().port
}

async function echo (t: Test, name: string): Promise<string> {
  const s = createSocket('udp4')
  s.on('message', (m, r) => { s.send(Buffer.concat([Buffer.from(`${name}:`), m]), r.port, r.address) })
  const host = loopback()
  const port = await bound(s, host)
  t.teardown(() => { s.close() })
  return `${host}:${port}`
}

t.test('UDP flows through one listener', async (t) => {
  const a = await echo(t, 'a')
  const b = await echo(t, 'b')
  const r = route('dns', 5353, [a, b])
  const listener = new UdpListener(new PortEntry(5353, 'tcp', [r]), { flowTimeout: 1500, maxFlows: 1000 })
  const host = loopback()
  await new Promise<void>((resolve) => { listener.server.once('listening', resolve); listener.server.listen({ host, port: 0 }) })
  const port = listener.server.socket.address().port
  t.teardown(() => { listener.server.close() })

  const CLIENTS = 20
  const PER_CLIENT = 5000
  const WINDOW = 16
  const results = await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const s = createSocket('udp4')
    await bound(s, loopback())
    const names = new Set<string>()
    let got = 0
    let wrong = 0
    let next = 0
    const seen = new Set<number>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`client ${c}: ${got} of ${PER_CLIENT} answers after 20 s`)) }, 20_000)
      const send = (): void => {
        const buf = Buffer.alloc(8)
        buf.writeUInt32BE(c, 0)
        buf.writeUInt32BE(next++, 4)
        s.send(buf, port, host)
      }
      s.on('message', (m) => {
        const colon = m.indexOf(0x3a)
        names.add(m.subarray(0, colon).toString())
        const body = m.subarray(colon + 1)
        if (body.length !== 8 || body.readUInt32BE(0) !== c || seen.has(body.readUInt32BE(4))) wrong++
        seen.add(body.readUInt32BE(4))
        got++
        if (next < PER_CLIENT) send()
        if (got === PER_CLIENT) { clearTimeout(timer); resolve() }
      })
      for (let i = 0; i < WINDOW; i++) send()
    })
    s.close()
    return { names, got, wrong }
  }))
  const total = results.reduce((n, r) => n + r.got, 0)
  const misdelivered = results.reduce((n, r) => n + r.wrong, 0)
  const byEndpoint = listener.flowsByEndpoint()
  t.comment(`${total} datagrams from ${CLIENTS} clients answered, ${misdelivered} misdelivered; flows per endpoint: ${JSON.stringify(Object.fromEntries(byEndpoint))}`)
  t.equal(total, CLIENTS * PER_CLIENT, 'every datagram answered (none lost)')
  t.equal(misdelivered, 0, 'each answer back at the client that asked, once')
  t.ok(results.every((r) => r.names.size === 1), 'each flow stuck to one endpoint')
  t.ok(byEndpoint.size === 2, 'and the flows spread over both')
  t.equal(listener.flowsTotal, CLIENTS, 'one flow per client')

  // A flow whose endpoint left the table moves with its next datagram.
  const s = createSocket('udp4')
  await bound(s, loopback())
  t.teardown(() => { s.close() })
  const answers: string[] = []
  s.on('message', (m) => { answers.push(m.subarray(0, m.indexOf(0x3a)).toString()) })
  s.send('x', port, host)
  await waitFor(() => answers.length === 1, { what: 'the first answer' })
  const first = answers[0]
  r.balancer.setEndpoints(r.balancer.endpoints.filter((ep) => !ep.address.endsWith(first === 'a' ? a.split(':')[1] : b.split(':')[1])))
  s.send('y', port, host)
  await waitFor(() => answers.length === 2, { what: 'the answer after the endpoint left' })
  t.not(answers[1], first, `the flow moved from ${first} to ${answers[1]}`)
  await waitFor(() => listener.flows === 0, { what: 'idle flows expired (udp.flowTimeout 1.5 s)', timeout: 6000 })
  t.pass('idle flows expire')
})
