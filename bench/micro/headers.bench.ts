/**
 * Header rewriting per request: the client's raw request headers into the
 * upstream array (hop-by-hop out, X-Forwarded-* in), and the upstream raw
 * response headers (Buffers) into the head lines sent to the client.
 *
 *   node dist/bench/micro/headers.bench.js
 */
import { newRequestInfo, upstreamRequestHeaders } from '../../lib/proxy/request-headers'
import { downstreamResponseHead, type ResponseInfo } from '../../lib/proxy/response-headers'
import { runCases } from './harness'

const wrkRequest = ['Host', '127.0.0.50:8080']
const browserRequest = [
  'Host', 'web.example.com:8080',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language', 'en-US,en;q=0.5',
  'Accept-Encoding', 'gzip, deflate, br',
  'Connection', 'keep-alive',
  'Cookie', 'session=0123456789abcdef; theme=dark',
  'X-Forwarded-For', '203.0.113.9',
  'Upgrade-Insecure-Requests', '1'
]
const resInfo: ResponseInfo = { contentLength: -1 }
const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const smallResponse = [b('content-type'), b('text/plain'), b('content-length'), b('16'), b('Date'), b('Wed, 25 Nov 2026 01:23:32 GMT'),
  b('Connection'), b('keep-alive'), b('Keep-Alive'), b('timeout=65')]
const typicalResponse = [...smallResponse, b('Cache-Control'), b('no-cache'), b('ETag'), b('"5f3c-abc"'), b('Vary'), b('Accept-Encoding'),
  b('Set-Cookie'), b('session=0123456789abcdef; Path=/; HttpOnly')]

// A 13 KB head whose Connection names 400 of its 400 extra headers (linear, not headers x tokens).
const named = Array.from({ length: 400 }, (_, i) => `x-hop-${i}`)
const connectionHeavy = ['Host', 'x', 'Connection', named.join(', '), ...named.flatMap((n) => [n, 'v'.repeat(8)])]
const info = newRequestInfo()
const fwd = { proto: 'http' as const, xForwarded: true, forwardedHeader: false }

runCases('headers', [
  { name: 'request: wrk (Host only) + X-Forwarded-*', group: 'req-min', fn: () => upstreamRequestHeaders(wrkRequest, '127.0.0.1', false, null, fwd, info) },
  { name: 'request: browser (9 headers) + X-Forwarded-*', group: 'req-browser', fn: () => upstreamRequestHeaders(browserRequest, '127.0.0.1', false, null, fwd, info) },
  { name: 'request: 13 KB head, Connection naming 400 headers', group: 'req-connection', fn: () => upstreamRequestHeaders(connectionHeavy, '127.0.0.1', false, null, fwd, info) },
  { name: 'response: node backend (5 headers)', group: 'res-min', fn: () => downstreamResponseHead(smallResponse, resInfo) },
  { name: 'response: typical (9 headers)', group: 'res-typical', fn: () => downstreamResponseHead(typicalResponse, resInfo) }
])
