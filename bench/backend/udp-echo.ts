/**
 * Bench UDP backend: sends every datagram back, unchanged, to the address
 * and port it came from.
 *
 *   node dist/bench/backend/udp-echo.js --listen 127.0.0.91:5300 [--listen 127.0.0.92:5300 ...]
 *
 * One process can serve several addresses (one socket each).
 */
import { createSocket } from 'node:dgram'
import { hostPort, parseArgs } from '../common/args'

const args = parseArgs()
const listens = args.all('listen')
if (listens.length === 0) {
  process.stderr.write('usage: udp-echo.js --listen host:port (repeatable)\n')
  process.exit(2)
}

for (const spec of listens) {
  const { host, port } = hostPort(spec, 'listen')
  // Large kernel buffers (capped by net.core.rmem_max / wmem_max): bursts from the load must not overflow here.
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 })
  socket.on('message', (msg, rinfo) => { socket.send(msg, rinfo.port, rinfo.address) })
  socket.on('error', (err) => {
    process.stderr.write(`udp echo ${host}:${port}: ${err.message}\n`)
    process.exit(1)
  })
  socket.bind(port, host, () => process.stdout.write(`udp echo listening on ${host}:${port}\n`))
}

process.on('SIGTERM', () => process.exit(0))
