/**
 * Baseline (a): http-proxy 1.18 with a keep-alive agent, round robin per
 * request. The way most Node reverse proxies are written.
 *
 *   node dist/bench/baselines/http-proxy.js --listen 127.0.0.61:8080 --backend 127.0.0.51:9001 ...
 */
import http from 'node:http'
import httpProxy from 'http-proxy'
import { baselineArgs } from './backends'

const { listen, backends } = baselineArgs('http-proxy.js')
const targets = backends.map((b) => `http://${b.host}:${b.port}`)
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 60_000 })
const proxy = httpProxy.createProxyServer({ agent, xfwd: true })
let next = 0

proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
    res.end('bad gateway\n')
  } else {
    res.destroy()
  }
})

const server = http.createServer((req, res) => {
  const target = targets[next]
  next = (next + 1) % targets.length
  proxy.web(req, res, { target })
})
server.keepAliveTimeout = 65_000
server.listen(listen.port, listen.host, () => process.stdout.write(`http-proxy baseline on ${listen.host}:${listen.port}\n`))
process.on('SIGTERM', () => process.exit(0))
