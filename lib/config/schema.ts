/**
 * The configuration schema: every key with its kind and limits. Defaults live
 * in config/default.yaml; this file says what a valid value is.
 */
export type Kind =
  | { kind: 'string' }
  | { kind: 'url' }
  | { kind: 'hostport', optional: boolean }
  | { kind: 'host' }
  | { kind: 'duration', min?: number }
  | { kind: 'int', min: number, max: number }
  | { kind: 'bool' }
  | { kind: 'portrange' }
  | { kind: 'cidrs' }
  | { kind: 'file' }
  | { kind: 'replicas' }
  | { kind: 'enum', values: readonly string[] }

const str = { kind: 'string' } as const
const dur = { kind: 'duration' } as const
const posDur = { kind: 'duration', min: 1 } as const
const bool = { kind: 'bool' } as const
const int = (min: number, max: number): { kind: 'int', min: number, max: number } => ({ kind: 'int', min, max })
const oneOf = <const V extends readonly string[]>(...values: V): { kind: 'enum', values: V } => ({ kind: 'enum', values })

export const SCHEMA = {
  redis: {
    url: { kind: 'url' },
    prefix: str,
    connectTimeout: posDur,
    reconnectMaxDelay: posDur,
    tlsCa: { kind: 'file' },
    tlsCert: { kind: 'file' },
    tlsKey: { kind: 'file' },
    waitReplicas: { kind: 'replicas' },
    waitTimeout: posDur
  },
  node: {
    name: str,
    advertise: { kind: 'host' },
    bind: str,
    admin: { kind: 'hostport', optional: true },
    adminToken: str,
    heartbeatInterval: posDur,
    heartbeatTtl: posDur,
    shutdownGrace: dur,
    listenRetry: posDur,
    workers: int(1, 64),
    manager: bool
  },
  registry: { resyncInterval: posDur, livenessInterval: posDur, streamMaxLen: int(100, 10_000_000), blockTimeout: posDur },
  proxy: {
    connectTimeout: posDur,
    headersTimeout: posDur,
    bodyTimeout: posDur,
    upstreamKeepAlive: posDur,
    upstreamConnections: int(1, 100_000),
    clientHeadersTimeout: posDur,
    clientIdleTimeout: posDur,
    clientRequestTimeout: dur,
    clientSendTimeout: posDur,
    queueTimeout: posDur,
    maxQueued: int(0, 1_000_000),
    maxTries: int(1, 16),
    maxHeaderSize: int(1024, 1_048_576),
    maxHeaders: int(1, 2000),
    http2MaxStreams: int(1, 10_000),
    maxConnections: int(1, 10_000_000),
    xForwarded: bool,
    forwardedHeader: bool,
    trustedProxies: { kind: 'cidrs' },
    accessLog: bool,
    warmupRequests: int(0, 1_000_000)
  },
  tcp: { connectTimeout: posDur, idleTimeout: dur, maxTries: int(1, 16) },
  tls: {
    minVersion: oneOf('TLSv1.2', 'TLSv1.3'),
    /** OpenSSL cipher list for TLS 1.2 ('' = Mozilla intermediate). */
    ciphers: str,
    unknownName: oneOf('default', 'refuse')
  },
  udp: { flowTimeout: posDur, maxFlows: int(1, 10_000_000) },
  health: {
    passiveFailures: int(1, 1000),
    passive5xx: int(0, 1000),
    ejectBase: posDur,
    ejectMax: posDur,
    interval: posDur,
    timeout: posDur,
    rise: int(1, 100),
    fall: int(1, 100)
  },
  tasks: {
    portRange: { kind: 'portrange' },
    stopGrace: dur,
    drainDelay: dur,
    restartDelay: posDur,
    restartMaxDelay: posDur,
    logMaxLen: int(10, 10_000_000),
    historyLimit: int(0, 100)
  },
  scheduler: { reconcileInterval: posDur, leaseTtl: posDur }
} as const satisfies Record<string, Record<string, Kind>>

type ValueOf<K> =
  K extends { kind: 'enum', values: infer V extends readonly string[] } ? V[number]
  : K extends { kind: 'duration' | 'int' | 'replicas' } ? number
    : K extends { kind: 'bool' } ? boolean
      : K extends { kind: 'portrange' } ? { from: number, to: number }
        : K extends { kind: 'cidrs' } ? readonly string[]
        : string

/** The validated, frozen configuration every module receives. Durations are milliseconds. */
export type Config = {
  readonly [S in keyof typeof SCHEMA]: { readonly [K in keyof (typeof SCHEMA)[S]]: ValueOf<(typeof SCHEMA)[S][K]> }
}
