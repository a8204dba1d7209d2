/**
 * Fault: slowloris. 1,000 connections each send one header byte every 2 s
 * and never finish their head. A normal client's p99 stays under 50 ms
 * meanwhile; every slow connection is answered 408 or closed by
 * proxy.clientHeadersTimeout; the node's descriptors come back to their
 * baseline.
 */
import t from 'tap'
import { readdirSync } from 'node:fs'
import { Agent } from 'node:http'
import { connect, type Socket } from 'node:net'
import { httpGet, meshOk, statusOn } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

const SLOW = 1000
const HEAD_TIMEOUT_MS = 4000

function fds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

t.test('slowloris: 1,000 connections trickling a head', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', `proxy.clientHeadersTimeout=${HEAD_TIMEOUT_MS}ms`] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  const pid = node.proc.pid as number
  const baseline = fds(pid)

  const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '
  const slow: Array<{ s: Socket, got: string, closed: boolean }> = []
  for (let i = 0; i < SLOW; i++) {
    const s = connect({ host: node.addr, port: 8080 })
    const entry = { s, got: '', closed: false }
    s.on('data', (d: Buffer) => { entry.got += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => { entry.closed = true })
    slow.push(entry)
  }
  t.teardown(() => { for (const e of slow) e.s.destroy() })
  let sent = 0
  const trickle = setInterval(() => {
    for (const e of slow) if (!e.closed && sent < head.length + 10) e.s.write(sent < head.length ? head[sent] : 'a')
    sent++
  }, 2000)
  t.teardown(() => { clearInterval(trickle) })
  await waitFor(() => fds(pid) >= baseline + SLOW * 0.95, { what: 'the slow connections accepted', timeout: 10_000 })

  // A normal keep-alive client meanwhile: 300 requests, one at a time.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const times: number[] = []
  let errors = 0
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now()
    const status = await statusOn(agent, node.addr, 8080)
    times.push(performance.now() - t0)
    if (status !== 200) errors++
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  agent.destroy()
  times.sort((x, y) => x - y)
  const p99 = percentile(times, 0.99)
  t.comment(`normal client during slowloris: ${times.length} requests, ${errors} errors, p50 ${percentile(times, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`)
  t.equal(errors, 0, 'the normal client got every answer')
  t.ok(p99 < 50, `its p99 stays under 50 ms (${p99.toFixed(2)} ms)`)

  await waitFor(() => slow.every((e) => e.closed), { what: 'every slow connection closed by the head timeout', timeout: HEAD_TIMEOUT_MS + 10_000 })
  const answered = slow.filter((e) => e.got !== '')
  t.ok(answered.every((e) => /^HTTP\/1\.1 408 /.test(e.got)), `each was answered 408 or closed (${answered.length} answered 408, ${SLOW - answered.length} closed)`)
  t.equal(await node.metric('mesh_http_client_timeouts_total', 'kind="head"'), SLOW, 'counted as head timeouts')
  await waitFor(() => fds(pid) <= baseline + 3, { what: `the node's descriptors back to ${baseline}`, timeout: 5000 })
  t.comment(`node descriptors: ${baseline} before, ${baseline + SLOW} with the slow connections, ${fds(pid)} after`)
  t.pass('descriptors back to the baseline')
})
