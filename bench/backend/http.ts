/**
 * Bench backend: a tiny Node HTTP server answering every request with a
 * fixed small body (`<name>\n`) over keep-alive.
 *
 *   node dist/bench/backend/http.js --listen 127.0.0.51:9001 [--listen 127.0.0.52:9001=b2 ...]
 *
 * One process can serve several addresses; each answers its own name
 * (default host:port), so a client sees which endpoint served.
 */
import http from 'node:http'
import { hostPort, parseArgs } from '../common/args'

const args = parseArgs()
const listens = args.all('listen')
if (listens.length === 0) {
  process.stderr.write('usage: http.js --listen host:port[=name] (repeatable)\n')
  process.exit(2)
}

for (const spec of listens) {
  const [addr, givenName] = spec.split('=')
  const { host, port } = hostPort(addr, 'listen')
  const body = Buffer.from(`${givenName ?? `${host}:${port}`}\n`)
  const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) }
  const server = http.createServer((req, res) => {
    // Drain any request body before answering so the connection stays reusable.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) req.resume()
    res.writeHead(200, headers)
    res.end(body)
  })
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.maxRequestsPerSocket = 0
  server.listen(port, host, () => process.stdout.write(`backend listening on ${host}:${port}\n`))
}

process.on('SIGTERM', () => process.exit(0))
