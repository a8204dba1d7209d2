/**
 * Reads a certificate and its key from PEM files for `mesh cert create` and
 * `mesh cert update`, and checks them before anything is written: both files
 * readable, the certificate file holds one or more PEM certificates (the
 * chain, leaf first) that parse, the key file an unencrypted PEM private key
 * that parses, and the key belongs to the leaf certificate.
 *
 * What is stored is only the PEM blocks found (certificates in file order,
 * the one key block), each ending in a newline. No error message carries
 * any part of the key file's content: they name the flag and the path.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { MeshError } from '../errors'

/** Larger than any sane chain or key: a file above it is refused unread. */
export const MAX_PEM_BYTES = 1 << 20

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/g
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----\r?\n[\s\S]*?-----END \1-----/g

export interface CertPair {
  /** The PEM certificate chain, leaf first. */
  cert: string
  /** The PEM private key. */
  key: string
  leaf: X509Certificate
}

const invalid = (message: string): MeshError => new MeshError('MESH_ERR_CERT_INVALID', message)

function readPem (path: string, flag: string): string {
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) throw invalid(`${flag} ${path}: not a file`)
    size = st.size
  } catch (err) {
    if (err instanceof MeshError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw invalid(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? 'error'})`}`)
  }
  if (size > MAX_PEM_BYTES) throw invalid(`${flag} ${path}: ${size} bytes is too large for a PEM file (at most ${MAX_PEM_BYTES})`)
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw invalid(`${flag} ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** The certificates of `text`, parsed; refuses a file without any, or one that does not parse. */
function certificates (text: string, path: string): { pem: string[], x509: X509Certificate[] } {
  const pem = [...text.matchAll(CERT_BLOCK)].map((m) => `${m[0].replaceAll('\r\n', '\n')}\n`)
  if (pem.length === 0) throw invalid(`--cert ${path}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  const x509 = pem.map((p, i) => {
    try {
      return new X509Certificate(p)
    } catch {
      throw invalid(`--cert ${path}: certificate ${i + 1} of ${pem.length} is not a valid X.509 certificate`)
    }
  })
  return { pem, x509 }
}

function privateKey (text: string, path: string): { pem: string, key: KeyObject } {
  const blocks = [...text.matchAll(KEY_BLOCK)]
  if (blocks.length === 0) throw invalid(`--key ${path}: holds no PEM private key (-----BEGIN PRIVATE KEY-----)`)
  if (blocks.length > 1) throw invalid(`--key ${path}: holds ${blocks.length} private keys; give the certificate's key alone`)
  if (blocks[0][1] === 'ENCRYPTED PRIVATE KEY') {
    throw invalid(`--key ${path}: the key is encrypted; give it unencrypted (openssl pkey -in ${path} -out plain.key)`)
  }
  const pem = `${blocks[0][0].replaceAll('\r\n', '\n')}\n`
  try {
    return { pem, key: createPrivateKey(pem) }
  } catch {
    // OpenSSL's reason is not repeated: nothing of a key goes into a message.
    throw invalid(`--key ${path}: the private key cannot be parsed (is it encrypted, or damaged?)`)
  }
}

/** The certificate chain and key from `certPath` and `keyPath`, checked (see the file comment). */
export function readCertPair (certPath: string, keyPath: string): CertPair {
  const { pem, x509 } = certificates(readPem(certPath, '--cert'), certPath)
  const key = privateKey(readPem(keyPath, '--key'), keyPath)
  const leaf = x509[0]
  if (!leaf.checkPrivateKey(key.key)) {
    throw invalid(`--key ${keyPath} does not match the certificate in --cert ${certPath} (it is the key of another certificate)`)
  }
  return { cert: pem.join(''), key: key.pem, leaf }
}
