/**
 * TLS passthrough by SNI (issue 12): several TLS services share one L4 port,
 * each session routed by the server name of its ClientHello and forwarded
 * without being terminated (the client sees the endpoint's own certificate);
 * no SNI, an unknown name or bytes that are not TLS: closed and counted.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type Server } from 'node:tls'
import { l4Listener, listen, route } from '../helpers/listener'
import { loopback } from '../helpers/ports'

async function tlsBackend (t: Test, dir: string, name: string): Promise<string> {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' })
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (s) => { s.end(`${name}\n`) })
  const host = loopback()
  const port = await listen(server, host)
  t.teardown(() => { server.close() })
  return `${host}:${port}`
}

async function via (host: string, port: number, servername: string | undefined): Promise<{ answer: string, cn: string } | 'closed'> {
  return await new Promise((resolve) => {
    const s = connect({ host, port, servername, rejectUnauthorized: false }, () => {
      const cn = /CN=([^\n]+)/.exec(s.getPeerX509Certificate()?.subject ?? '')?.[1] ?? ''
      let answer = ''
      s.on('data', (d: Buffer) => { answer += d.toString() })
      s.on('end', () => { resolve({ answer, cn }) })
    })
    s.on('error', () => { resolve('closed') })
  })
}

t.test('TLS passthrough routed by SNI', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-sni-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const a = await tlsBackend(t, dir, 'a.example')
  const c = await tlsBackend(t, dir, 'c.example')
  const host = loopback()
  const { listener, port } = await l4Listener(t, host, [route('a', 8443, [a], ['a.example']), route('c', 8443, [c], ['c.example'])], true)
  t.same(await via(host, port, 'a.example'), { answer: 'a.example\n', cn: 'a.example' }, 'a.example reaches a, end to end encrypted by its own certificate')
  t.same(await via(host, port, 'c.example'), { answer: 'c.example\n', cn: 'c.example' }, 'c.example reaches c')
  t.equal(await via(host, port, 'nosuch.example'), 'closed', 'an unknown name: closed')
  t.equal(await via(host, port, undefined), 'closed', 'no SNI: closed')
  const plain = await new Promise<string>((resolve) => {
    const s = netConnect({ host, port }, () => { s.write('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n') })
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString() })
    s.on('close', () => { resolve(out) })
    s.on('error', () => {})
  })
  t.equal(plain, '', 'not TLS: closed without a word')
  t.equal(listener.sniRefused, 3, 'the three refusals counted')
})
