/**
 * TLS termination on an HTTPS port (issue 12), with certificates made by
 * openssl for the test: a certificate picked by SNI against the names it
 * carries (exact and wildcard), the port's default for an unknown name or no
 * SNI (or a refused handshake, as configured), h2 and http/1.1 by ALPN,
 * X-Forwarded-Proto https, a replaced certificate used by the next handshake
 * while an open connection goes on, and session tickets that resume on
 * another node sharing the cluster's ticket keys.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as h2connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { Backend } from '../helpers/backend'
import { l7Listener, route } from '../helpers/listener'
import { loopback } from '../helpers/ports'
import { CertStore, INTERMEDIATE, type CertRecord } from '../../lib/proxy/tls/cert-store'
import { getOnTls, handshake, selfSigned } from '../helpers/tls-client'
import type { TlsPort } from '../../lib/proxy/tls/tls-front'

const makeCert = (dir: string, name: string, cn: string, sans: string[]): CertRecord => selfSigned(dir, name, cn, sans).record
const hello = handshake
const get = async (s: TLSSocket, path: string): Promise<string> => await getOnTls(s, 'a.example', path)

t.test('TLS termination', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const a = makeCert(dir, 'a', 'a.example', ['a.example', '*.b.example'])
  const c = makeCert(dir, 'c', 'c.example', ['c.example'])
  const backend = await Backend.start('web')
  t.teardown(async () => { await backend.close() })
  const keys = randomBytes(48)
  const store = new CertStore(INTERMEDIATE)
  store.setTicketKeys(keys)
  store.update([a, c])
  const port: TlsPort = { certs: store, profile: INTERMEDIATE, unknownName: 'default', defaultCert: () => 'c' }
  const host = loopback()
  const { listener, port: p } = await l7Listener(t, host, [route('web', 443, [backend.address])], port)

  t.test('a certificate by SNI: exact, wildcard, and the port default for an unknown name or none', async (t) => {
    const cn = async (servername: string | undefined): Promise<string> => {
      const h = await hello(host, p, servername)
      h.socket.destroy()
      return h.cn
    }
    t.equal(await cn('a.example'), 'a.example', 'a.example -> a')
    t.equal(await cn('x.b.example'), 'a.example', 'x.b.example -> a (*.b.example)')
    t.equal(await cn('c.example'), 'c.example', 'c.example -> c')
    t.equal(await cn('nosuch.example'), 'c.example', 'an unknown name -> the port default')
    t.equal(await cn(undefined), 'c.example', 'no SNI -> the port default')
  })

  t.test('HTTP/1.1 and h2 by ALPN, X-Forwarded-Proto https', async (t) => {
    const h1 = await hello(host, p, 'a.example')
    t.equal(h1.alpn, 'http/1.1', 'http/1.1 chosen')
    const answer = await get(h1.socket, '/headers')
    h1.socket.destroy()
    t.match(answer, /^HTTP\/1\.1 200 /, '200 over TLS')
    t.match(answer, /"x-forwarded-proto","https"/i, 'X-Forwarded-Proto: https')
    const session = h2connect(`https://${host}:${p}`, { servername: 'a.example', rejectUnauthorized: false })
    t.teardown(() => { session.close() })
    session.on('error', () => {})
    const status = await new Promise<number>((resolve) => {
      const r = session.request({ ':path': '/' })
      r.on('response', (h) => { resolve(Number(h[':status'])) })
      r.resume()
    })
    t.equal(status, 200, 'h2 over TLS (ALPN) answered 200')
    t.equal((session.socket as TLSSocket).alpnProtocol, 'h2', 'and it was h2')
  })

  t.test('a replaced certificate serves the next handshake; a connection already open goes on', async (t) => {
    const open = await hello(host, p, 'c.example')
    const c2 = makeCert(dir, 'c2', 'c.example', ['c.example'])
    store.update([a, { ...c2, name: 'c' }])
    listener.entry = listener.entry // what a table swap does
    const next = await hello(host, p, 'c.example')
    t.not(next.serial, open.serial, `the next handshake gets the new certificate (serial ${next.serial}, was ${open.serial})`)
    next.socket.destroy()
    t.match(await get(open.socket, '/'), /^HTTP\/1\.1 200 /, 'the connection made with the old one is still served')
    open.socket.destroy()
  })

  t.test('session tickets resume on another node with the same ticket keys', async (t) => {
    const other = loopback()
    const store2 = new CertStore(INTERMEDIATE)
    store2.setTicketKeys(keys)
    store2.update([a, c])
    const { port: p2 } = await l7Listener(t, other, [route('web', 443, [backend.address])], { ...port, certs: store2 })
    const first = await hello(host, p, 'a.example')
    const ticket = await first.ticket
    first.socket.destroy()
    const resumed = await hello(other, p2, 'a.example', { session: ticket })
    t.ok(resumed.reused, 'a ticket from node 1 resumes the session on node 2')
    resumed.socket.destroy()
  })

  t.test('tlsUnknownName refuse: a name no certificate carries fails the handshake', async (t) => {
    const strict = loopback()
    const { listener: l } = await l7Listener(t, strict, [route('web', 443, [backend.address])], { ...port, unknownName: 'refuse' })
    const lp = (l.server.address() as { port: number }).port
    await t.rejects(hello(strict, lp, 'nosuch.example'), 'refused')
    t.equal(l.tlsRefused, 1, 'and counted')
    const known = await hello(strict, lp, 'a.example')
    known.socket.destroy()
    t.equal(known.cn, 'a.example', 'a known name still served')
  })
})
