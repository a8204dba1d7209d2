/**
 * Classifies upstream errors: which kind (metric), which status the client
 * gets, whether another endpoint may be tried, whether it counts against the
 * endpoint's passive health.
 */
import { ERR_CONNECT, ERR_LOCAL, ERR_PROTOCOL, ERR_RESET, ERR_TIMEOUT } from '../metrics/route-stats'

export interface Classified {
  kind: number
  status: number
  /** Nothing reached the endpoint: any method may go to the next endpoint. */
  connectFailure: boolean
  /** The connection broke before a response: idempotent bodiless requests may be retried. */
  reset: boolean
  /** Counts towards passive ejection. */
  passive: boolean
}

const CONNECT: Classified = { kind: ERR_CONNECT, status: 502, connectFailure: true, reset: false, passive: true }
const CONNECT_TIMEOUT: Classified = { kind: ERR_TIMEOUT, status: 504, connectFailure: true, reset: false, passive: true }
const TIMEOUT: Classified = { kind: ERR_TIMEOUT, status: 504, connectFailure: false, reset: false, passive: true }
const RESET: Classified = { kind: ERR_RESET, status: 502, connectFailure: false, reset: true, passive: true }
const PROTOCOL: Classified = { kind: ERR_PROTOCOL, status: 502, connectFailure: false, reset: false, passive: false }
/** This node's own resources ran out: not the endpoint's fault, and another endpoint would fail the same way. */
const LOCAL: Classified = { kind: ERR_LOCAL, status: 503, connectFailure: false, reset: false, passive: false }

export function classify (err: Error & { code?: string }): Classified {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return CONNECT
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return CONNECT_TIMEOUT
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return TIMEOUT
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return RESET
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOBUFS':
    case 'ENOMEM':
    case 'EADDRNOTAVAIL': // no local port left
      return LOCAL
    default:
      return PROTOCOL
  }
}

export function isIdempotent (method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE'
}
