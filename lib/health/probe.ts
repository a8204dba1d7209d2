/** One active check: an HTTP GET (2xx/3xx passes) or a TCP connect, bounded by a timeout. */
import { request } from 'node:http'
import { connect } from 'node:net'
import type { HealthCheckSpec } from '../registry/types'

export interface ProbeResult { ok: boolean, detail: string }

export async function probe (host: string, port: number, check: HealthCheckSpec): Promise<ProbeResult> {
  return await new Promise((resolve) => {
    let settled = false
    const done = (ok: boolean, detail: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ok, detail })
    }
    const timer = setTimeout(() => { done(false, `timeout after ${check.timeout} ms`); cleanup() }, check.timeout)
    let cleanup = (): void => {}
    if (check.type === 'tcp') {
      const sock = connect({ host, port })
      cleanup = () => sock.destroy()
      sock.once('connect', () => { sock.destroy(); done(true, 'tcp connect ok') })
      sock.once('error', (err: NodeJS.ErrnoException) => { done(false, err.code ?? err.message) })
      return
    }
    const req = request({ host, port, path: check.path === '' ? '/' : check.path, method: 'GET', agent: false, headers: { 'user-agent': 'routemesh-health/1', connection: 'close' } }, (res) => {
      res.resume()
      const status = res.statusCode ?? 0
      done(status >= 200 && status < 400, `HTTP ${status}`)
    })
    cleanup = () => req.destroy()
    req.once('error', (err: NodeJS.ErrnoException) => { done(false, err.code ?? err.message) })
    req.end()
  })
}
