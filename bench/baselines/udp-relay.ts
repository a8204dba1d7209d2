/**
 * Baseline: the minimal node:dgram UDP relay. One socket in; per client flow
 * (address and port) one socket out, connected to the next backend in the
 * round robin; its replies go back to the client from the socket in. No
 * flow expiry, no limits (a bench run is bounded).
 *
 *   node dist/bench/baselines/udp-relay.js --listen 127.0.0.96:5353 --backend 127.0.0.91:5300 ... [--unconnected]
 *
 * --unconnected: the socket out names the backend on every send instead of
 * being connected to it (what a relay that does not connect pays).
 */
import { createSocket, type Socket } from 'node:dgram'
import { baselineArgs } from './backends'

const { listen, backends } = baselineArgs('udp-relay.js')
const connected = !process.argv.includes('--unconnected')
const front = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 })
const flows = new Map<string, (msg: Buffer) => void>()
let next = 0

front.on('message', (msg, client) => {
  const key = `${client.address}|${client.port}`
  let send = flows.get(key)
  if (send === undefined) {
    const b = backends[next]
    next = (next + 1) % backends.length
    const up: Socket = createSocket('udp4')
    up.on('message', (reply) => { front.send(reply, client.port, client.address) })
    up.on('error', () => {})
    if (connected) {
      // A dgram socket takes no send while it connects: the first datagrams wait for it.
      let ready = false
      const queue: Buffer[] = []
      up.connect(b.port, b.host, () => { ready = true; for (const m of queue.splice(0)) up.send(m) })
      send = (m) => { if (ready) up.send(m); else queue.push(m) }
    } else {
      send = (m) => { up.send(m, b.port, b.host) }
    }
    flows.set(key, send)
  }
  send(msg)
})
front.bind(listen.port, listen.host, () => process.stdout.write(`udp-relay baseline on ${listen.host}:${listen.port} (${connected ? 'connected' : 'unconnected'} sockets out)\n`))
process.on('SIGTERM', () => process.exit(0))
