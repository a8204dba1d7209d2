/**
 * Connection limits (issue 9, defect 10): past proxy.maxConnections a new
 * connection is closed at once and counted while the open ones keep being
 * served; and a node out of file descriptors never blames (ejects) the
 * endpoint for its own EMFILE, nor stops.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { meshScenario } from '../helpers/scenario'
import { Raw } from '../helpers/raw-client'
import { waitFor } from '../helpers/wait'

t.test('proxy.maxConnections: new connections refused at once, the open ones unaffected', async (t) => {
  const { redis, backends: [a], nodes: [node] } = await meshScenario(t, { nodeArgs: ['--set', 'proxy.maxConnections=20'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${node.addr}:8080/`)).status === 200, { what: 'web served' })
  await waitFor(async () => await node.metric('mesh_connections_active') === 0, { what: 'no connection left open' })
  const held = Array.from({ length: 20 }, () => Raw.open(t, node.addr, 8080))
  await waitFor(async () => await node.metric('mesh_connections_active') === 20, { what: '20 connections held' })
  const extra = Raw.open(t, node.addr, 8080).send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const started = Date.now()
  await extra.closedBy('the 21st connection closed')
  t.ok(Date.now() - started < 1000, `the 21st connection is closed at once (${Date.now() - started} ms)`)
  t.equal(extra.data, '', 'without an answer')
  t.equal(await node.metric('mesh_connections_refused_total'), 1, 'and counted')
  held[0].send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await held[0].until(/\r\n\r\na\n$/, 'an answer on a connection held')
  t.pass('the connections already open are served')
  for (const c of held.slice(0, 5)) c.socket.destroy()
  await waitFor(async () => await node.metric('mesh_connections_active') === 15, { what: 'five closed' })
  t.equal((await httpGet(`http://${node.addr}:8080/`)).status, 200, 'below the limit again, new connections are served')
})

t.test('a node out of file descriptors does not eject the endpoint for its own EMFILE', async (t) => {
  const { redis, nodes: [node] } = await meshScenario(t, { backends: [] })
  const sockets = new Set<Socket>()
  const echo = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); s.pipe(s) })
  const host = loopback()
  await new Promise<void>((resolve) => { echo.listen(0, host, resolve) })
  t.teardown(() => { for (const s of sockets) s.destroy(); echo.close() })
  const port = (echo.address() as { port: number }).port
  await meshOk(['service', 'create', '--name', 'tcp', '--publish', '7000:7000/tcp', '--endpoint', `${host}:${port}`], redis.url)
  await waitFor(async () => await node.metric('mesh_tcp_connections_total') >= 0 && (await node.metrics()).includes('service="tcp"'), { what: 'tcp in the table' })
  await waitFor(async () => await echoOnce(node.addr, 7000) === 'ping', { what: 'the echo served' })

  // Leave the node 24 free descriptors: 40 sessions need 80.
  const pid = node.proc.pid as number
  const limit = limitLeaving(pid, 24)
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:`])
  const clients: Socket[] = []
  t.teardown(() => { for (const c of clients) c.destroy() })
  let closed = 0
  const open = (): void => {
    const c = connect({ host: node.addr, port: 7000 })
    c.on('error', () => {})
    c.on('close', () => { closed++ })
    clients.push(c)
  }
  for (let i = 0; i < 40; i++) open()
  // Every session ends bridged (two descriptors held) or closed: on accept (the node had
  // none left) or on its upstream connect (it had only the one accept took).
  await waitFor(() => closed + sockets.size === 40, { what: 'every session bridged or closed', timeout: 5000 })
  t.ok(closed > 0 && sockets.size > 0, `${closed} of 40 sessions closed by a node limited to ${limit} descriptors, ${sockets.size} bridged`)
  // How the node interleaved accepts and connects decides whether the burst made an
  // upstream connect fail. If none did, no descriptor is free now: one more makes the next
  // accept take it and its upstream connect fail with EMFILE, the node's own error.
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limitLeaving(pid, 1)}:`])
  const before = closed
  open()
  await waitFor(() => closed > before, { what: 'the session past the limit closed', timeout: 5000 })
  for (const c of clients) c.destroy()
  await waitFor(async () => await node.metric('mesh_tcp_connections_active') === 0, { what: 'the sessions gone' })
  execFileSync('prlimit', ['--pid', String(pid), '--nofile=4096:'])
  t.equal(await node.metric('mesh_ejections_total'), 0, 'the endpoint was never ejected')
  const local = await node.metric('mesh_upstream_errors_total', 'kind="local"')
  t.ok(local > 0, `the failed upstream connects were counted as the node's own (kind="local": ${local})`)
  t.equal(await echoOnce(node.addr, 7000), 'ping', 'and it is served again as soon as descriptors are back')
  t.equal(node.proc.exitCode, null, 'the node is still running')
})

/**
 * The RLIMIT_NOFILE that leaves the process exactly `free` descriptors: a new one takes
 * the lowest free number below the limit, and open ones may sit anywhere (an inherited
 * pipe at 251, holes left by closed sockets), so it is counted by number, not by total.
 */
function limitLeaving (pid: number, free: number): number {
  const open = new Set(readdirSync(`/proc/${pid}/fd`).map(Number))
  for (let n = 0, left = free; ; n++) if (!open.has(n) && --left === 0) return n + 1
}

async function echoOnce (host: string, port: number): Promise<string> {
  return await new Promise((resolve) => {
    const s = connect({ host, port }, () => { s.write('ping') })
    let got = ''
    s.on('data', (d: Buffer) => { got += d.toString(); if (got.length >= 4) { s.destroy(); resolve(got) } })
    s.on('error', () => { resolve('') })
    s.setTimeout(2000, () => { s.destroy(); resolve(got) })
  })
}
