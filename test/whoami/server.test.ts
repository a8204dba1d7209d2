import t from 'tap'
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import { freePort, loopback } from '../helpers/ports'
import { waitFor } from '../helpers/wait'
import { startWhoami, timeLocal } from '../../lib/whoami/server'

const MAIN = join(__dirname, '..', '..', 'lib', 'cli', 'main.js')

async function get (host: string, port: number): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', headers: { 'user-agent': 'curl/8', connection: 'close' } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

function run (args: string[], env: NodeJS.ProcessEnv = {}): { out: () => string, err: () => string, kill: (s: NodeJS.Signals) => void, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, 'whoami', ...args], { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<number | null>((resolve) => { child.once('close', resolve) })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  return { out: () => out, err: () => err, kill: (s) => { child.kill(s) }, exited }
}

t.test('mesh whoami --listen answers its name and tag, logs like nginx, exits 0 on SIGTERM', async (t) => {
  const host = loopback()
  const port = await freePort(host)
  const w = run(['--listen', `${host}:${port}`, '--name', 'task1', '--version-tag', 'v2'])
  await waitFor(() => w.err().includes('listening'), { what: 'whoami listening' })
  const res = await get(host, port)
  t.same(res, { status: 200, body: 'task1 v2\n' })
  await waitFor(() => w.out().includes('"GET / HTTP/1.1" 200 9 "-" "curl/8"\n'), { what: 'access log line' })
  t.match(w.out(), /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/ HTTP\/1\.1" 200 9 "-" "curl\/8"\n$/)
  w.kill('SIGTERM')
  t.equal(await w.exited, 0)
})

t.test('as a task: PORT, MESH_TASK_HOST and MESH_TASK_NAME from the environment', async (t) => {
  const host = loopback()
  const port = await freePort(host)
  const w = run([], { PORT: String(port), MESH_TASK_HOST: host, MESH_TASK_NAME: 'web.3' })
  await waitFor(() => w.err().includes('listening'), { what: 'whoami listening' })
  t.same(await get(host, port), { status: 200, body: 'web.3\n' })
  w.kill('SIGTERM')
  t.equal(await w.exited, 0)
})

t.test('default name is host:port; bad input is one error line', async (t) => {
  const host = loopback()
  const port = await freePort(host)
  const w = await startWhoami({ host, port, log: null })
  t.teardown(async () => { await w.close() })
  t.equal((await get(host, port)).body, `${host}:${port}\n`)

  const none = run([], { PORT: '' })
  t.equal(await none.exited, 2)
  t.match(none.err(), /^mesh: error: whoami needs --listen HOST:PORT/)
  const bad = run(['--listen', 'nowhere'])
  t.equal(await bad.exited, 2, 'a malformed value is a usage error (exit 2)')
  t.match(bad.err(), /^mesh: error: --listen: "nowhere" is not HOST:PORT/)
  const busy = run(['--listen', `${host}:${port}`])
  t.equal(await busy.exited, 1)
  t.match(busy.err(), new RegExp(`^mesh: error: whoami cannot listen on ${host.replace(/\./g, '\\.')}:${port} \\(EADDRINUSE\\)`))
})

t.test('timeLocal is nginx\'s $time_local', async (t) => {
  t.equal(timeLocal(new Date(Date.UTC(2017, 5, 28, 18, 59, 39))), '28/Jun/2017:18:59:39 +0000')
})

t.test('?wait=DURATION answers late; SIGTERM lets the requests in flight finish, then exits 0', async (t) => {
  const host = loopback()
  const port = await freePort(host)
  const w = run(['--listen', `${host}:${port}`, '--name', 'slow', '--quiet'])
  await waitFor(() => w.err().includes('listening'), { what: 'whoami listening' })
  const timed = (path: string): { sent: Promise<void>, done: Promise<{ status: number, body: string, ms: number }> } => {
    const t0 = Date.now()
    let sent: () => void = () => {}
    const sentP = new Promise<void>((resolve) => { sent = resolve })
    const done = new Promise<{ status: number, body: string, ms: number }>((resolve, reject) => {
      const req = request({ host, port, path, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => { body += d })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }) })
      })
      req.on('finish', sent)
      req.on('error', reject)
      req.end()
    })
    return { sent: sentP, done }
  }
  t.match(await timed('/?wait=nope').done, { status: 400, body: /wait: not a duration/ }, 'a bad wait is a 400')
  const slow = [timed('/?wait=1500ms'), timed('/?wait=1500ms'), timed('/x?a=1&wait=1.5s')]
  await Promise.all(slow.map(async (r) => { await r.sent }))
  // A quick request on a later connection answered: the server has accepted and read the slow ones before it.
  t.equal((await timed('/').done).status, 200)
  const inFlight = slow.map(async (r) => await r.done)
  w.kill('SIGTERM')
  const exited = w.exited.then((code) => ({ code, at: Date.now() }))
  const done = await Promise.all(inFlight)
  for (const r of done) {
    t.equal(r.status, 200, 'answered after SIGTERM')
    t.equal(r.body, 'slow\n')
    t.ok(r.ms >= 1400, `took the wait it asked for (${r.ms} ms)`)
  }
  await t.rejects(timed('/').done, 'no new connection is accepted once SIGTERM came')
  const { code } = await exited
  t.equal(code, 0, 'exits 0 once the last request in flight is done')
})
