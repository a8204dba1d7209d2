import { createServer } from 'node:net'

/** A port free on `host` right now (the kernel picks it). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      srv.close(() => { resolve(typeof addr === 'object' && addr !== null ? addr.port : 0) })
    })
  })
}

let next = 0
const A = 20 + Math.floor(Math.random() * 200)
const B = Math.floor(Math.random() * 250)
/**
 * A loopback address of its own for one test node or backend:
 * 127.<random per test file>.<n>, so parallel test files never collide on ports.
 */
export function loopback (): string {
  next++
  return `127.${A}.${B}.${next}`
}
