/**
 * Redis client errors in one short phrase the CLI can put in a sentence
 * ("registry unreachable at redis://127.0.0.1:6379: ECONNREFUSED"), never
 * the client library's own wording ("Connection is closed.",
 * "Reached the max retries per request limit...").
 */
import { isMeshError } from '../errors'

const SOCKET = /^E[A-Z]+$/
const TLS = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO/

const REPLIES: Array<[RegExp, string]> = [
  [/^WRONGPASS/, 'wrong user name or password (WRONGPASS)'],
  [/^NOAUTH/, 'Redis wants a password (NOAUTH): give it in the URL'],
  [/^NOPERM/, 'the Redis user may not run this command (NOPERM)'],
  [/^LOADING/, 'Redis is loading its data set (LOADING)'],
  [/^READONLY/, 'this Redis is a read-only replica (READONLY)'],
  [/^MASTERDOWN/, 'the replica lost its master (MASTERDOWN)'],
  [/^OOM/, 'Redis is out of memory (OOM)']
]

/** The phrase for `err`, or null when it does not come from the Redis connection. */
export function registryReason (err: unknown): string | null {
  if (!(err instanceof Error) || isMeshError(err)) return null
  const code = (err as NodeJS.ErrnoException).code
  if (typeof code === 'string') {
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${code} (host name not found)`
    if (SOCKET.test(code)) return code
    if (TLS.test(code)) return `TLS: ${code}`
  }
  const msg = err.message
  if (err.name === 'MaxRetriesPerRequestError' || msg.includes('max retries per request')) return 'connection lost'
  if (msg === 'Connection is closed.' || msg.includes("Stream isn't writeable")) return 'connection closed'
  if (msg === 'Command timed out') return 'no answer (command timed out)'
  if (/^no answer within/.test(msg)) return msg
  if (err.name === 'ReplyError') {
    for (const [re, text] of REPLIES) if (re.test(msg)) return text
    return `Redis refused a command: ${msg.split('\n')[0]}`
  }
  const errno = /\b(E[A-Z]{3,})\b/.exec(msg)
  if (errno !== null && /^(connect|read|write|getaddrinfo)\b/.test(msg)) return errno[1]
  return null
}

/** The connection itself failed (as opposed to Redis answering with an error): worth retrying. */
export function isConnectionLoss (err: unknown): boolean {
  if (!(err instanceof Error) || isMeshError(err) || err.name === 'ReplyError') return false
  const reason = registryReason(err)
  return reason !== null && !reason.startsWith('TLS')
}
