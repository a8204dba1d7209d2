/**
 * whoami: a tiny HTTP server answering `<name>\n` (or `<name> <tag>\n`), so a
 * user sees which endpoint served, like the lab's nginx + /etc/hostname.
 * Logs one nginx-style access line per request (buffered, one write per
 * event-loop turn) so aggregated service logs show something.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { formatHostPort } from '../util/address'

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
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Drain any request body, then answer.
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': payload.length })
    res.end(req.method === 'HEAD' ? undefined : payload)
    if (log !== null) {
      if (pending === '') setImmediate(flush)
      pending += accessLine(req, 200, req.method === 'HEAD' ? 0 : payload.length, new Date())
    }
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
      await new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        server.closeIdleConnections()
      })
      if (pending !== '') flush()
    }
  }
}
