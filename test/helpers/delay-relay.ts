/**
 * A slow link on loopback: a TCP relay that hands what the server sends to
 * the client `delayMs` late (the other way at once). When the server's side
 * closes, bytes still on their way are lost, as on a link that was cut: a
 * replica behind it lags its master by `delayMs`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export class DelayRelay {
  port = 0
  readonly #server: Server
  readonly #sockets = new Set<Socket>()

  private constructor (target: number, delayMs: number) {
    this.#server = createServer((client) => {
      const upstream = connect(target, '127.0.0.1')
      this.#sockets.add(client).add(upstream)
      const timers = new Set<NodeJS.Timeout>()
      const end = (): void => {
        for (const t of timers) clearTimeout(t)
        timers.clear()
        client.destroy()
        upstream.destroy()
        this.#sockets.delete(client)
        this.#sockets.delete(upstream)
      }
      client.on('error', end).on('close', end)
      upstream.on('error', end).on('close', end)
      client.on('data', (chunk: Buffer) => { upstream.write(chunk) })
      upstream.on('data', (chunk: Buffer) => {
        const timer = setTimeout(() => { timers.delete(timer); client.write(chunk) }, delayMs)
        timers.add(timer)
      })
    })
  }

  static async start (targetPort: number, delayMs: number): Promise<DelayRelay> {
    const r = new DelayRelay(targetPort, delayMs)
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject)
      r.#server.listen(0, '127.0.0.1', () => {
        const a = r.#server.address()
        r.port = typeof a === 'object' && a !== null ? a.port : 0
        resolve()
      })
    })
    return r
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }
}
