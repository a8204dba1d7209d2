/**
 * Baseline (c): L4 net pipe, round robin per connection, with backpressure
 * (stream.pipe) and half-close.
 *
 *   node dist/bench/baselines/net-pipe.js --listen 127.0.0.63:7000 --backend 127.0.0.51:9001 ...
 */
import net from 'node:net'
import { baselineArgs } from './backends'

const { listen, backends } = baselineArgs('net-pipe.js')
let next = 0

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const b = backends[next]
  next = (next + 1) % backends.length
  const upstream = net.connect({ host: b.host, port: b.port, allowHalfOpen: true })
  client.setNoDelay(true)
  upstream.setNoDelay(true)
  const fail = (): void => { client.destroy(); upstream.destroy() }
  client.on('error', fail)
  upstream.on('error', fail)
  client.pipe(upstream)
  upstream.pipe(client)
  // Full close once both directions ended.
  client.on('close', () => upstream.destroy())
  upstream.on('close', () => client.destroy())
})
server.listen(listen.port, listen.host, () => process.stdout.write(`net-pipe baseline on ${listen.host}:${listen.port}\n`))
process.on('SIGTERM', () => process.exit(0))
