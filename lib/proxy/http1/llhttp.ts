/**
 * Node's own HTTP/1.1 request parser (llhttp, in C++), the one behind
 * http.createServer, used without the IncomingMessage/ServerResponse streams
 * around it. Same strictness (no lenient flags): bad framing, CL together
 * with TE, bad header tokens and oversized heads are refused by llhttp.
 *
 * `_http_common` is Node's internal-but-requirable module (no deprecation
 * warning, unlike process.binding('http_parser')); checked at load so a Node
 * without it fails at start with a clear message, not on the first request.
 */
import type { Socket } from 'node:net'

export interface ParserError extends Error {
  code: string
  reason?: string
  bytesParsed?: number
}

/** The native parser object. Callbacks live at numeric slots (kOn*). */
export interface NativeParser {
  [slot: number]: unknown
  initialize: (type: number, resource: object, maxHeaderSize: number, lenient: number) => void
  /** Parses `data` now (outside a read): bytes parsed, or the parse error (HPE_PAUSED when a callback paused it). */
  execute: (data: Buffer) => number | ParserError
  /** The input ended (EOF): completes a close-delimited message; an Error when the message was incomplete. */
  finish: () => unknown
  /** Lets a parser stopped by HPE_PAUSED parse again. */
  resume: () => void
  consume: (handle: unknown) => void
  unconsume: () => void
  getCurrentBuffer: () => Buffer
  /** Frees the native parser now (it is unusable after). */
  close: () => void
  remove: () => void
  /** ms since the current message began; 0 between messages. */
  duration: () => number
  headersCompleted: () => boolean
}

interface HttpCommon {
  HTTPParser: (new () => NativeParser) & {
    REQUEST: number
    RESPONSE: number
    kOnHeaders: number
    kOnHeadersComplete: number
    kOnBody: number
    kOnMessageComplete: number
    kOnExecute: number
  }
  methods: string[]
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const common = require('_http_common') as Partial<HttpCommon>
if (typeof common.HTTPParser !== 'function' || !Array.isArray(common.methods)) {
  throw new Error(`this Node.js (${process.version}) does not expose its HTTP parser (_http_common.HTTPParser): routemesh needs Node 20`)
}

export const HTTPParser = common.HTTPParser
/** llhttp method index -> name. */
export const METHODS: readonly string[] = common.methods
export const kOnHeaders = HTTPParser.kOnHeaders | 0
export const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0
export const kOnBody = HTTPParser.kOnBody | 0
export const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0
export const kOnExecute = HTTPParser.kOnExecute | 0

/**
 * What an onHeadersComplete callback returns to stop the parser right after
 * that head (llhttp's HPE_PAUSED): execute() then reports a ParserError with
 * code 'HPE_PAUSED' and `bytesParsed` = where parsing stopped; after
 * resume() the rest parses as if nothing happened.
 */
export const PAUSE_PARSER = 21

/** The libuv stream under a net.Socket (what the parser reads from directly). */
export interface StreamHandle {
  readStart: () => number
  readStop: () => number
  /** Bytes libuv still has to hand to the kernel. */
  writeQueueSize: number
}

export function handleOf (socket: Socket): StreamHandle | null {
  return (socket as unknown as { _handle: StreamHandle | null })._handle
}
