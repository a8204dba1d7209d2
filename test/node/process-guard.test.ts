import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Backend } from '../helpers/backend'
import { CLI, FAST, httpGet, meshOk } from '../helpers/mesh'
import { loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'

t.test('an unhandled rejection or an uncaught exception in a node daemon is logged with its stack; the node keeps serving', async (t) => {
  const redis = await TestRedis.start()
  const backend = await Backend.start('a')
  const dir = mkdtempSync(join(tmpdir(), 'mesh-guard-'))
  t.teardown(async () => { await backend.close(); await redis.close(); rmSync(dir, { recursive: true, force: true }) })
  // A bug somewhere in the daemon, simulated: once it serves, a promise rejects unhandled and a timer throws.
  const bug = join(dir, 'bug.js')
  // (Main thread only: a loader thread, such as tap's coverage hooks in the daemon, runs --require files too.)
  writeFileSync(bug, `if (require('node:worker_threads').isMainThread) {
    setTimeout(() => { Promise.reject(new Error('injected rejection')) }, 1500)
    setTimeout(() => { throw new TypeError('injected exception') }, 1700)
  }
`)
  const addr = loopback()
  const proc = spawn(process.execPath, ['--require', bug, CLI, 'node', 'start', '--name', 'g1', '--advertise', addr, '--admin', `${addr}:9180`, '--redis', redis.url,
    ...FAST.flatMap((kv) => ['--set', kv])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  let log = ''
  proc.stdout.on('data', (c: Buffer) => { log += c.toString() })
  proc.stderr.on('data', (c: Buffer) => { log += c.toString() })
  const exited = new Promise<number | null>((resolve) => { proc.once('exit', resolve) })
  t.teardown(async () => { if (proc.exitCode === null) proc.kill('SIGTERM'); await exited })

  await waitFor(async () => (await httpGet(`http://${addr}:9180/healthz`)).status === 200, { timeout: 15_000, what: `node admin (log: ${log})` })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', backend.address], redis.url)
  await waitFor(async () => (await httpGet(`http://${addr}:8080/`)).body === 'a\n', { what: 'web served' })
  await waitFor(() => /injected rejection/.test(log) && /injected exception/.test(log), { what: 'both errors logged' }).catch((err: Error) => { throw new Error(`${err.message}; log: ${log}`) })
  t.match(log, /unhandled promise rejection .*Error: injected rejection\n\s+at /, 'the rejection is logged with its stack')
  t.match(log, /uncaught exception .*TypeError: injected exception\n\s+at /, 'the exception is logged with its stack')
  t.equal(proc.exitCode, null, 'the daemon is still running')
  for (let i = 0; i < 5; i++) t.equal((await httpGet(`http://${addr}:8080/`)).status, 200, 'and still serving')
})
