/**
 * A byte tunnel between a client and an upstream socket after a protocol
 * switch (WebSocket): both directions copied with backpressure (pipe), a
 * half-close passed on as a half-close, and either side closing or failing
 * closes the other. The bytes each side sent past the HTTP exchange (read
 * with the request or the 101) go first.
 *
 * At shutdown a tunnel that is idle (nothing moved for a moment) is closed
 * at once, WebSocket-style: a Close frame (1001 going away) each way, then
 * FIN; a busy one is left until the drain deadline.
 */
import type { Socket } from 'node:net'
import { Quiet } from './quiet'

/** The tunnels open on this node, for shutdown. */
export type TunnelSet = Set<Tunnel>

export class Tunnel {
  readonly client: Socket
  readonly upstream: Socket
  readonly #set: TunnelSet
  readonly #quiet = new Quiet()
  closed = false

  constructor (client: Socket, upstream: Socket, clientHead: Buffer, upstreamHead: Buffer, set: TunnelSet) {
    this.client = client
    this.upstream = upstream
    this.#set = set
    set.add(this)
    const close = (): void => { this.#close() }
    client.on('error', close)
    upstream.on('error', close)
    client.once('close', close)
    upstream.once('close', close)
    upstream.setTimeout(0)
    if (upstreamHead.length > 0) client.write(upstreamHead)
    if (clientHead.length > 0) upstream.write(clientHead)
    client.pipe(upstream)
    upstream.pipe(client)
    client.resume()
    upstream.resume()
  }

  /** Nothing moved for `ms` (counted from the first call) and nothing waits to be written. */
  idle (now: number, ms: number): boolean {
    return this.#quiet.check(this.client.bytesRead + this.upstream.bytesRead, this.client.writableLength + this.upstream.writableLength, now, ms)
  }

  /** Closes an idle WebSocket tunnel cleanly: Close (1001) to both peers, then FIN. */
  goAway (): void {
    this.client.unpipe(this.upstream)
    this.upstream.unpipe(this.client)
    this.client.end(CLOSE_TO_CLIENT)
    this.upstream.end(CLOSE_TO_SERVER)
    // Their replies (a Close frame, then FIN) are read and dropped; a peer that never closes is cut.
    this.client.resume()
    this.upstream.resume()
    setTimeout(destroyTunnel, GO_AWAY_GRACE_MS, this).unref()
  }

  destroy (): void {
    this.client.destroy()
    this.upstream.destroy()
  }

  #close (): void {
    if (this.closed) return
    this.closed = true
    this.#set.delete(this)
    this.client.destroy()
    this.upstream.destroy()
  }
}

const GO_AWAY_GRACE_MS = 1000

function destroyTunnel (t: Tunnel): void {
  t.destroy()
}

/** WebSocket Close frames, status 1001 (going away): unmasked to the client, masked (RFC 6455 5.3) to the server. */
const CLOSE_TO_CLIENT = Buffer.from([0x88, 0x02, 0x03, 0xe9])
const MASK = [0x6d, 0x65, 0x73, 0x68]
const CLOSE_TO_SERVER = Buffer.from([0x88, 0x82, ...MASK, 0x03 ^ MASK[0], 0xe9 ^ MASK[1]])
