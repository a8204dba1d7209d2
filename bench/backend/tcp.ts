/**
 * Bench TCP backend for L4 checks:
 *   --mode echo     (default) writes back every byte it receives
 *   --mode respond  answers each HTTP/1.1 request head (`\r\n\r\n`) with a fixed
 *                   keep-alive response, without parsing: the cheapest HTTP peer.
 *
 *   node dist/bench/backend/tcp.js --listen 127.0.0.51:9101 [--listen ...] [--mode echo|respond]
 */
import net from 'node:net'
import { hostPort, parseArgs } from '../common/args'

const args = parseArgs()
const mode = args.get('mode', 'echo')
const listens = args.all('listen')
if (listens.length === 0 || (mode !== 'echo' && mode !== 'respond')) {
  process.stderr.write('usage: tcp.js --listen host:port (repeatable) [--mode echo|respond]\n')
  process.exit(2)
}

const END = Buffer.from('\r\n\r\n')

for (const spec of listens) {
  const { host, port } = hostPort(spec, 'listen')
  const body = `${host}:${port}\n`
  const response = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  const server = net.createServer((sock) => {
    sock.setNoDelay(true)
    sock.on('error', () => sock.destroy())
    if (mode === 'echo') {
      sock.pipe(sock)
      return
    }
    // respond: count request heads, including one split across chunks (keep the last 3 bytes).
    let carry: Buffer = Buffer.alloc(0)
    sock.on('data', (chunk: Buffer) => {
      const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk])
      let from = 0
      let n = 0
      for (;;) {
        const i = buf.indexOf(END, from)
        if (i < 0) break
        n++
        from = i + 4
      }
      carry = buf.subarray(Math.max(from, buf.length - 3))
      if (n === 1) sock.write(response)
      else if (n > 1) sock.write(Buffer.concat(new Array<Buffer>(n).fill(response)))
    })
  })
  server.listen(port, host, () => process.stdout.write(`tcp backend (${mode}) listening on ${host}:${port}\n`))
}

process.on('SIGTERM', () => process.exit(0))
