/**
 * TLS termination for an HTTPS port: a tls.Server whose handshakes pick
 * their certificate by SNI from the node's CertStore (the port's default
 * certificate, or a refused handshake, when no certificate has the name:
 * `tls.unknownName`), offer h2 and http/1.1 by ALPN, and resume
 * sessions with the cluster's shared ticket keys (a client resumes on any
 * node). Established connections go to the listener's HTTP/1.1 or HTTP/2
 * side by the protocol ALPN chose.
 */
import { createServer, type SecureContext, type Server, type TLSSocket } from 'node:tls'
import { createLogger } from '../../util/log'
import { SESSION_ID_CONTEXT, type CertStore, type TlsProfile } from './cert-store'

const log = createLogger('tls')

export type UnknownName = 'default' | 'refuse'

export interface TlsPort {
  certs: CertStore
  profile: TlsProfile
  /** What a handshake gets whose server name no certificate carries (or that sent none). */
  unknownName: UnknownName
  /** The port's own certificate (a service's --cert), or null. */
  defaultCert: () => string | null
}

export class TlsFront {
  readonly server: Server
  readonly #port: TlsPort
  /** Handshakes refused for want of a certificate (metric). */
  refused = 0
  #defaultName: string | null = null
  #ticketKeys: Buffer | null

  /** `handshakeTimeout`: a client must finish its handshake within it (the listener's head timeout). */
  constructor (port: TlsPort, handshakeTimeout: number, onSecure: (socket: TLSSocket) => void) {
    this.#port = port
    this.#ticketKeys = port.certs.ticketKeys
    this.server = createServer({
      handshakeTimeout,
      ALPNProtocols: ['h2', 'http/1.1'],
      minVersion: port.profile.minVersion,
      ciphers: port.profile.ciphers,
      ecdhCurve: 'X25519:prime256v1:secp384r1',
      sessionIdContext: SESSION_ID_CONTEXT,
      ...(port.certs.ticketKeys !== null ? { ticketKeys: port.certs.ticketKeys } : {}),
      SNICallback: (servername, cb) => { this.#sni(servername, cb) }
    }, onSecure)
    // With a listener here the failed socket is ours to close (Node closes it only when nobody listens).
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      log.debug('handshake failed: %s', err.message)
      socket.destroy()
    })
    this.refresh()
  }

  /** The certificates, the cluster's ticket keys or the port's default changed: handshakes from now on use them. */
  refresh (): void {
    const keys = this.#port.certs.ticketKeys
    if (keys !== null && keys !== this.#ticketKeys) {
      this.#ticketKeys = keys
      this.server.setTicketKeys(keys)
    }
    const name = this.#defaultFor()
    const record = name === null ? null : this.#port.certs.record(name)
    const key = record === null ? null : `${record.name}\0${record.cert}`
    if (key === this.#defaultName) return
    this.#defaultName = key
    // Without SNI the server's own context answers: the default certificate; with none it has no
    // certificate and such handshakes fail.
    if (record !== null) this.server.setSecureContext(this.#port.certs.contextOptions(record))
  }

  #defaultFor (): string | null {
    return this.#port.unknownName === 'default' ? this.#port.defaultCert() : null
  }

  #sni (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void {
    const certs = this.#port.certs
    const name = certs.nameFor(servername) ?? this.#defaultFor()
    const ctx = name === null ? null : certs.byName(name)
    if (ctx === null) {
      this.refused++
      cb(new Error(`no certificate for ${servername}`))
      return
    }
    cb(null, ctx)
  }
}
