/**
 * TLS and HTTP/2 bench tools: a self-signed ECDSA P-256 certificate made
 * with openssl, `openssl s_time` (serial new or resumed handshakes), h2load
 * (HTTP/2 load with per-request times), and a probe that reports what a
 * TLS port negotiates (protocol, cipher, ALPN, certificate).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { run } from './procs'

function which (cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${cmd}`
    if (dir !== '' && existsSync(p)) return p
  }
  return null
}

export const tlsTools = { openssl: which('openssl'), h2load: which('h2load') }

export interface BenchCert {
  name: string
  /** The DNS name the certificate is for. */
  host: string
  cert: string
  key: string
  certFile: string
  keyFile: string
  /** Certificate then key in one file (haproxy's `crt`). */
  bundleFile: string
  /** SHA-256 fingerprint as node:crypto prints it. */
  fingerprint256: string
}

/** A self-signed ECDSA P-256 certificate for `host`, valid 30 days, written into dir. */
export async function makeCert (dir: string, name: string, host: string): Promise<BenchCert> {
  if (tlsTools.openssl === null) throw new Error('openssl is not installed (apt-get install openssl)')
  const keyFile = path.join(dir, `${name}.key`)
  const certFile = path.join(dir, `${name}.crt`)
  await run(tlsTools.openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '30', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { timeoutMs: 20_000 })
  const cert = readFileSync(certFile, 'utf8')
  const key = readFileSync(keyFile, 'utf8')
  const bundleFile = path.join(dir, `${name}.pem`)
  writeFileSync(bundleFile, cert + key, { mode: 0o600 })
  const { X509Certificate } = await import('node:crypto')
  return { name, host, cert, key, certFile, keyFile, bundleFile, fingerprint256: new X509Certificate(cert).fingerprint256 }
}

export interface TlsInfo { protocol: string, cipher: string, alpn: string, group: string, fingerprint256: string }

/** One handshake with ALPN h2 and http/1.1 offered (no verification: the certificate is self-signed). */
export function tlsProbe (host: string, port: number, servername: string | undefined, timeoutMs = 3000): Promise<TlsInfo> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      const eph = s.getEphemeralKeyInfo()
      const info: TlsInfo = {
        protocol: s.getProtocol() ?? '',
        cipher: s.getCipher().standardName,
        alpn: s.alpnProtocol === false ? '' : s.alpnProtocol ?? '',
        group: eph !== null && typeof eph === 'object' && 'name' in eph ? String(eph.name) : '',
        fingerprint256: s.getPeerX509Certificate()?.fingerprint256 ?? ''
      }
      s.destroy()
      resolve(info)
    })
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`TLS handshake with ${host}:${port} timed out`)))
    s.on('error', reject)
  })
}


export interface HandshakeResult {
  /** Connections completed over all clients. */
  connections: number
  /** Of them, resumed sessions (s_time prints `r` for each). */
  resumed: number
  seconds: number
  rate: number
}

/**
 * `clients` serial `openssl s_time` loops at once, each for `seconds`: one TLS
 * connection after another, each with one HTTP/1.0 GET (`-www /`), full
 * handshakes (`-new`) or resumed ones (`-reuse`: the first connection's
 * session, by ticket in TLS 1.3). No SNI (s_time sends none).
 */
export async function sTime (host: string, port: number, mode: 'new' | 'reuse', seconds: number, clients: number, cpu?: string): Promise<HandshakeResult> {
  if (tlsTools.openssl === null) throw new Error('openssl is not installed')
  const t0 = process.hrtime.bigint()
  const outs = await Promise.all(Array.from({ length: clients }, async () => await run(tlsTools.openssl as string,
    ['s_time', '-connect', `${host}:${port}`, `-${mode}`, '-time', String(seconds), '-www', '/'], { cpu, timeoutMs: (seconds + 20) * 1000 })))
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  let connections = 0
  let resumed = 0
  for (const out of outs) {
    // -reuse prints one character per connection after "starting": 'r' resumed, '*' (or t, 2, 3) a full handshake.
    const m = /(\d+) connections in [\d.]+s;/.exec(out)
    if (m === null) throw new Error(`openssl s_time printed no summary:\n${out.slice(-500)}`)
    connections += Number(m[1])
    for (const line of out.slice(out.indexOf('starting')).split('\n')) {
      if (/^[r*t23]+$/.test(line.trim())) resumed += (line.match(/r/g) ?? []).length
    }
  }
  return { connections, resumed, seconds: wall, rate: connections / wall }
}

export interface H2Result {
  requests: number
  seconds: number
  rps: number
  /** Microseconds, from h2load's per-request log. */
  p50: number
  p99: number
  max: number
  errors: number
  errorDetail: string
  protocol: string
}

/** h2load over TLS (ALPN h2, or `--h1`): `connections` connections with `streams` requests in flight each, for `seconds`. */
export async function h2load (url: string, o: { connections: number, streams: number, seconds: number, cpu?: string, logDir: string, h1?: boolean }): Promise<H2Result> {
  if (tlsTools.h2load === null) throw new Error('h2load is not installed (apt-get install nghttp2-client)')
  const log = path.join(o.logDir, `h2load-${process.pid}-${Date.now()}.log`)
  const argv = ['-c', String(o.connections), '-m', String(o.streams), '-D', String(o.seconds), `--log-file=${log}`, ...(o.h1 === true ? ['--h1'] : []), url]
  try {
    const out = await run(tlsTools.h2load, argv, { cpu: o.cpu, timeoutMs: (o.seconds + 30) * 1000 })
    // h2load prints the time in ms under a second ("finished in 999.15ms"), else in s.
    const fin = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out)
    const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)
    if (fin === null || req === null) throw new Error(`h2load printed no summary:\n${out.slice(-800)}`)
    const times = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => Number(l.split('\t')[2])).filter(Number.isFinite)
    const sorted = Float64Array.from(times).sort()
    const at = (p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
    const failed = Number(req[5]) + Number(req[6]) + Number(req[7])
    const non2xx = codes === null ? 0 : Number(codes[3]) + Number(codes[4])
    const errors = failed + non2xx
    return {
      requests: Number(req[4]),
      seconds: Number(fin[1]) / (fin[2] === 'ms' ? 1000 : 1),
      rps: Number(fin[3]),
      p50: at(0.5),
      p99: at(0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
      errors,
      errorDetail: errors === 0 ? '' : `failed ${req[5]}, errored ${req[6]}, timeout ${req[7]}, 4xx/5xx ${non2xx}`,
      protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? ''
    }
  } finally {
    rmSync(log, { force: true })
  }
}
