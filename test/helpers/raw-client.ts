/** A raw client connection for HTTP/1.x tests: write text, wait for what the node sends back. */
import { connect, type Socket } from 'node:net'
import type { Test } from 'tap'
import { waitFor } from './wait'

export class Raw {
  readonly socket: Socket
  data = ''
  closed = false

  constructor (host: string, port: number) {
    this.socket = connect({ host, port })
    this.socket.on('data', (c: Buffer) => { this.data += c.toString('latin1') })
    this.socket.on('error', () => {})
    this.socket.on('close', () => { this.closed = true })
  }

  /** A connection destroyed with the test. */
  static open (t: Test, host: string, port: number): Raw {
    const r = new Raw(host, port)
    t.teardown(() => { r.socket.destroy() })
    return r
  }

  send (text: string): this {
    this.socket.write(text)
    return this
  }

  async until (re: RegExp, what: string, timeout = 5000): Promise<string> {
    await waitFor(() => re.test(this.data), { what: `${what} (got ${JSON.stringify(this.data.slice(-300))})`, timeout })
    return this.data
  }

  async closedBy (what: string, timeout = 5000): Promise<void> {
    await waitFor(() => this.closed, { what, timeout })
  }
}

/** Writes raw bytes on a new connection, resolves with everything the peer sent until it closed. */
export async function rawExchange (host: string, port: number, text: string, timeout = 5000): Promise<string> {
  const r = new Raw(host, port)
  r.send(text)
  try {
    await r.closedBy(`the connection to ${host}:${port} closed after ${JSON.stringify(text.slice(0, 60))}`, timeout)
  } finally {
    r.socket.destroy()
  }
  return r.data
}
