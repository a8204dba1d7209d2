/**
 * Hands out task ports from `tasks.portRange` on the node's advertise
 * address. A port is free when we can bind it right now and no task of ours
 * holds it; the cursor moves on so a just-released port is not reused at
 * once (its old connections may linger in TIME_WAIT).
 */
import { createServer } from 'node:net'

async function canBind (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => { resolve(false) })
    srv.listen({ host, port, exclusive: true }, () => { srv.close(() => { resolve(true) }) })
  })
}

export class PortAllocator {
  readonly #host: string
  readonly #from: number
  readonly #size: number
  readonly #held = new Set<number>()
  #cursor: number

  constructor (host: string, range: { from: number, to: number }) {
    this.#host = host
    this.#from = range.from
    this.#size = range.to - range.from + 1
    this.#cursor = Math.floor(Math.random() * this.#size)
  }

  /** A free port, held until release(); null when the range has none free. */
  async take (): Promise<number | null> {
    const tries = Math.min(this.#size, 1000)
    for (let i = 0; i < tries; i++) {
      const port = this.#from + (this.#cursor++ % this.#size)
      if (this.#held.has(port)) continue
      this.#held.add(port)
      if (await canBind(this.#host, port)) return port
      this.#held.delete(port)
    }
    return null
  }

  release (port: number): void {
    this.#held.delete(port)
  }
}
