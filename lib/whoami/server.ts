/**
 * whoami: a tiny HTTP server answering `<name>\n` (or `<name> <tag>\n`), so a
 * user sees which endpoint served, like the lab's nginx + /etc/hostname.
 * Logs one nginx-style access line per request (buffered, one write per
 * event-loop turn) so aggregated service logs show something.
 *
 * `?wait=5s` answers after that long (as traefik/whoami does): a slow
 * request to try shutdowns and drains with. close() is graceful: it stops
 * accepting, closes idle connections, lets every request in flight finish
 * (answered with `Connection: close`) and resolves when the last one did.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { formatHostPort } from '../util/address'
import { parseDuration } from '../util/duration'

export interface WhoamiOptions {
  host: string
  port: number
  /** Default: the bound HOST:PORT. */
  name?: string
  /** Appended after the name: `<name> <tag>`. */
  tag?: string
  /** Access log sink; null = no access log. */
  log?: ((text: string) => void) | null
}

export interface Whoami {
  server: Server
  address: AddressInfo
  body: string
  close: () => Promise<void>
}

/** Longest `?wait=` honoured. */
export const MAX_WAIT_MS = 600_000

/** The `wait` query parameter in ms (0 when absent); null when it is not a duration up to MAX_WAIT_MS. */
export function waitOf (url: string | undefined): number | null {
  const q = url?.indexOf('?') ?? -1
  if (url === undefined || q < 0) return 0
  const value = new URLSearchParams(url.slice(q + 1)).get('wait')
  if (value === null || value === '') return 0
  try {
    const ms = parseDuration(value, 'wait')
    return ms <= MAX_WAIT_MS ? ms : null
  } catch {
    return null
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number): string => (n < 10 ? `0${n}` : String(n))

/** nginx's $time_local in UTC: `28/Jun/2017:18:59:39 +0000`. */
export function timeLocal (d: Date): string {
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
}

export function accessLine (req: IncomingMessage, status: number, bytes: number, at: Date): string {
  const q = (v: string | undefined): string => (v === undefined || v === '' ? '-' : v.replace(/["\\]/g, '\\$&'))
  return `${req.socket.remoteAddress ?? '-'} - - [${timeLocal(at)}] "${req.method ?? '-'} ${req.url ?? '-'} HTTP/${req.httpVersion}" ` +
    `${status} ${bytes} "${q(req.headers.referer)}" "${q(req.headers['user-agent'])}"\n`
}

export async function startWhoami (o: WhoamiOptions): Promise<Whoami> {
  let pending = ''
  const log = o.log === undefined ? (t: string) => { process.stdout.write(t) } : o.log
  const flush = (): void => {
    const text = pending
    pending = ''
    if (log !== null) log(text)
  }
  let body = ''
  let payload = Buffer.alloc(0)
  let closing = false
  const answer = (req: IncomingMessage, res: ServerResponse, status: number, content: Buffer): void => {
    // Once closing, every answer ends its connection, so the server closes when the last request in flight is done.
    if (closing) res.setHeader('connection', 'close')
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': content.length })
    res.end(req.method === 'HEAD' ? undefined : content)
    if (log !== null) {
      if (pending === '') setImmediate(flush)
      pending += accessLine(req, status, req.method === 'HEAD' ? 0 : content.length, new Date())
    }
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Drain any request body, then answer (after ?wait=, if given).
    req.resume()
    const wait = waitOf(req.url)
    if (wait === null) return answer(req, res, 400, Buffer.from(`wait: not a duration up to ${MAX_WAIT_MS / 1000}s (use e.g. 500ms, 5s)\n`))
    if (wait === 0) return answer(req, res, 200, payload)
    const timer = setTimeout(() => { answer(req, res, 200, payload) }, wait)
    res.once('close', () => { clearTimeout(timer) })
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => { server.removeListener('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const name = o.name ?? formatHostPort(address.address, address.port)
  body = o.tag === undefined || o.tag === '' ? `${name}\n` : `${name} ${o.tag}\n`
  payload = Buffer.from(body)
  return {
    server,
    address,
    body,
    close: async () => {
      closing = true
      await new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        server.closeIdleConnections()
      })
      if (pending !== '') flush()
    }
  }
}
