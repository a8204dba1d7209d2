/**
 * Baseline: node:http2 alone. A TLS server (ALPN h2) that answers every
 * stream itself with the body a bench backend sends, forwarding nothing: the
 * CPU per request Node's HTTP/2 session and stream objects cost before any
 * proxying, the floor under any HTTP/2 front built on node:http2.
 *
 *   node dist/bench/baselines/h2-floor.js --listen 127.0.0.98:8443 --cert cert.pem --key key.pem
 */
import { readFileSync } from 'node:fs'
import { createSecureServer, type ServerHttp2Stream } from 'node:http2'
import { hostPort, parseArgs } from '../common/args'

const args = parseArgs()
const { host, port } = hostPort(args.get('listen', ''), 'listen')
const body = Buffer.from(`${host}:${port}\n`)
const server = createSecureServer({ cert: readFileSync(args.get('cert', '')), key: readFileSync(args.get('key', '')) })
server.on('stream', (stream: ServerHttp2Stream) => {
  stream.on('error', () => {})
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length })
  stream.end(body)
})
server.listen(port, host, () => process.stdout.write(`h2 floor listening on ${host}:${port}\n`))
process.on('SIGTERM', () => process.exit(0))
