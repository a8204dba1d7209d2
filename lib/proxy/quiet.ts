/**
 * Telling an open tunnel (WebSocket, TCP) that is idle from one that is
 * busy, at shutdown: nothing on the data path is touched; a drain compares
 * the bytes the tunnel has read so far between its sweeps.
 */
export class Quiet {
  #bytes = -1
  #since = 0

  /**
   * True once `bytes` (everything read either way so far) has not moved
   * for `ms` and nothing waits to be written (`buffered` is 0).
   */
  check (bytes: number, buffered: number, now: number, ms: number): boolean {
    if (bytes !== this.#bytes || buffered > 0) {
      this.#bytes = bytes
      this.#since = now
      return false
    }
    return now - this.#since >= ms
  }
}
