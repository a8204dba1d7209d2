/**
 * A TCP relay on a loopback port between some clients and a server (a
 * Redis), which a test can cut to put those clients in a network partition:
 * real sockets, real reconnects. `hold()` first stops forwarding what clients
 * send (so a command is caught in flight), `cut()` drops every connection and
 * refuses new ones, `heal()` relays again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { loopback } from './ports'

export class Partition {
  readonly host: string
  port = 0
  readonly #target: { host: string, port: number }
  readonly #server: Server
  readonly #pairs = new Set<[Socket, Socket]>()
  #cut = false
  #held = false
  /** Bytes clients sent while held (never forwarded if the relay is cut). */
  heldBytes = 0

  private constructor (target: { host: string, port: number }) {
    this.host = loopback()
    this.#target = target
    this.#server = createServer((client) => { this.#accept(client) })
  }

  static async start (targetPort: number, targetHost = '127.0.0.1'): Promise<Partition> {
    const p = new Partition({ host: targetHost, port: targetPort })
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject)
      p.#server.listen(0, p.host, () => {
        const a = p.#server.address()
        p.port = typeof a === 'object' && a !== null ? a.port : 0
        resolve()
      })
    })
    return p
  }

  get url (): string { return `redis://${this.host}:${this.port}` }

  #accept (client: Socket): void {
    if (this.#cut) { client.destroy(); return }
    const upstream = connect(this.#target)
    const pair: [Socket, Socket] = [client, upstream]
    this.#pairs.add(pair)
    const end = (): void => { client.destroy(); upstream.destroy(); this.#pairs.delete(pair) }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.on('data', (chunk: Buffer) => {
      if (this.#held) { this.heldBytes += chunk.length; return }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => { client.write(chunk) })
  }

  /** Stops forwarding client bytes (they are counted in heldBytes and dropped). */
  hold (): void {
    this.#held = true
    this.heldBytes = 0
  }

  /** Drops every relayed connection; new ones are refused until heal(). */
  cut (): void {
    this.#cut = true
    for (const [a, b] of this.#pairs) { a.destroy(); b.destroy() }
    this.#pairs.clear()
  }

  heal (): void {
    this.#cut = false
    this.#held = false
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }
}
