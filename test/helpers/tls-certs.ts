/**
 * A throw-away PKI for TLS tests (openssl, ECDSA P-256): a CA, a server
 * certificate for 127.0.0.1 and a client certificate, both signed by it, and
 * a second CA that signed neither. Files in a temp dir, removed with remove().
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Certs {
  dir: string
  ca: string
  otherCa: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  remove: () => void
}

export function makeCerts (): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-tls-'))
  const f = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...ec, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`), '-days', '2', '-subj', `/CN=mesh test ${ca}`)
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\n')
  for (const [who, cn, ext] of [['server', '127.0.0.1', ['-extfile', f('server.ext')]], ['client', 'mesh-client', []]] as const) {
    openssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${cn}`)
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.crt`), '-days', '2', ...ext)
  }
  return {
    dir,
    ca: f('ca.crt'),
    otherCa: f('other-ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    remove: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}
