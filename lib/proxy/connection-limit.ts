/**
 * proxy.maxConnections: client connections this process holds open over
 * every published port, L7 and L4 together. Past the limit a new connection
 * is closed as soon as it is accepted (counted), so a flood costs one accept
 * each and never the node's file descriptors or the traffic already flowing.
 * With --workers N each worker process gets its share of the node's limit.
 */
import type { Socket } from 'node:net'

type LimitedSocket = Socket & { meshLimit?: ConnectionLimit }

export class ConnectionLimit {
  readonly max: number
  /** Connections held now. */
  active = 0
  /** Connections closed at accept because the limit was reached (metric). */
  refused = 0

  constructor (max: number) {
    this.max = max
  }

  /** Counts `socket` until it closes; false (and the socket destroyed) when the limit is reached. */
  admit (socket: Socket): boolean {
    if (this.active >= this.max) {
      this.refused++
      socket.destroy()
      return false
    }
    this.active++
    ;(socket as LimitedSocket).meshLimit = this
    socket.once('close', release)
    return true
  }
}

function release (this: LimitedSocket): void {
  const limit = this.meshLimit
  if (limit !== undefined) limit.active--
}
