/**
 * TLS from the client's side, for the tests of HTTPS and passthrough ports:
 * self-signed certificates made by openssl for given names, a handshake
 * that reports what the server presented (and whether the session resumed),
 * and one HTTP/1.1 exchange on an open TLS connection.
 */
import { execFileSync } from 'node:child_process'
import type { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, type TLSSocket } from 'node:tls'

export interface SelfSigned {
  /** File paths (for `mesh cert create --cert --key`). */
  certFile: string
  keyFile: string
  /** The PEM texts, as a cluster certificate record holds them. */
  record: { name: string, cert: string, key: string }
}

/** An ECDSA P-256 certificate for `sans` (DNS names), subject CN `cn`, in `dir`. */
export function selfSigned (dir: string, name: string, cn: string, sans: string[]): SelfSigned {
  const keyFile = join(dir, `${name}.key`)
  const certFile = join(dir, `${name}.crt`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`], { stdio: 'ignore' })
  return { certFile, keyFile, record: { name, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } }
}

export interface Hello {
  /** Of the certificate presented ('' on a resumed session, which presents none). */
  cn: string
  serial: string
  fingerprint: string
  alpn: string | false | null
  reused: boolean
  socket: TLSSocket
  /** The session the server hands out (a ticket), to resume with. */
  ticket: Promise<Buffer>
}

/** A TLS handshake to host:port naming `servername` (certificates unchecked: the tests look at them). */
export async function handshake (host: string, port: number, servername: string | undefined, o: { alpn?: string[], session?: Buffer } = {}): Promise<Hello> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host, port, servername, rejectUnauthorized: false, ALPNProtocols: o.alpn ?? ['http/1.1'], session: o.session }, () => {
      const peer = s.getPeerX509Certificate() as X509Certificate | undefined
      resolve({
        cn: /CN=([^\n]+)/.exec(peer?.subject ?? '')?.[1] ?? '',
        serial: peer?.serialNumber ?? '',
        fingerprint: peer?.fingerprint256 ?? '',
        alpn: s.alpnProtocol,
        reused: s.isSessionReused(),
        socket: s,
        ticket
      })
    })
    const ticket = new Promise<Buffer>((resolve) => { s.once('session', resolve) })
    s.once('error', reject)
  })
}

/** One GET on an open TLS connection (kept alive): the whole raw response, head and body. */
export async function getOnTls (s: TLSSocket, host: string, path: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d.toString('latin1')
      const head = out.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(out)
      if (head !== -1 && len !== null && out.length >= head + 4 + Number(len[1])) {
        s.off('data', onData)
        s.off('error', reject)
        resolve(out)
      }
    }
    s.on('data', onData)
    s.once('error', reject)
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
  })
}

/** The body of a raw HTTP/1.1 response. */
export function bodyOf (raw: string): string { return raw.slice(raw.indexOf('\r\n\r\n') + 4) }
