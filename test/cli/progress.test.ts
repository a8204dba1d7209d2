import t from 'tap'
import { spawn } from 'node:child_process'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'
import type { ServiceSpec } from '../../lib/registry/types'
import { MAIN, mesh, type Result } from './mesh'
import { task } from './records'

/** Starts the CLI and hands back its output so far and its end. */
function start (url: string, args: string[]): { out: () => string, done: Promise<Result> } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const done = new Promise<Result>((resolve) => { child.once('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) }) })
  return { out: () => stdout, done }
}

t.test('create without --detach shows converge progress (plain lines off a TTY)', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')

  const cli = start(r.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--update-monitor', '300ms', '--', 'mesh', 'whoami'])
  const spec = await waitFor(async () => (await store.snapshot()).services.get('web'), { what: 'service written' })
  await waitFor(() => cli.out().includes('overall progress: 0 out of 2 tasks'), { what: 'first progress frame' })
  const base = { serviceId: spec.id, service: 'web' }
  await store.write([{ type: 'task', id: 't1', value: task({ ...base, id: 't1', slot: 1, state: 'starting' }) }])
  await waitFor(() => /1\/2: starting  \[={44}> {6}\]\n/.test(cli.out()), { what: 'slot 1 starting (docker\'s bar: 8 of 9 stages)' })
  await store.write([
    { type: 'task', id: 't1', value: task({ ...base, id: 't1', slot: 1, state: 'running' }) },
    { type: 'task', id: 't2', value: task({ ...base, id: 't2', slot: 2, state: 'running' }) }
  ])
  const res = await cli.done
  t.equal(res.code, 0, res.stderr)
  const lines = res.stdout.split('\n')
  t.equal(lines[0], spec.id, 'the id first')
  t.equal(lines[1], 'overall progress: 0 out of 2 tasks', 'docker prints no header after the id')
  t.ok(lines.includes('overall progress: 2 out of 2 tasks'))
  t.ok(lines.some((l) => /^2\/2: running   \[={50}>\]$/.test(l)), 'full bar for a running slot: 50 = as docker')
  t.ok(lines.some((l) => l.startsWith('verify: Waiting 1 seconds to verify')), 'waits the monitor period')
  t.equal(lines.at(-2), 'verify: Service converged')
  t.notMatch(res.stdout, /\x1b\[/, 'no cursor movement off a TTY')
})

t.test('update that the scheduler pauses exits non-zero; timeout too', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const store = new RegistryStore(redis, 'mesh:')
  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--replicas', '1', '--detach', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)

  const cli = start(r.url, ['service', 'update', 'web', '--env-add', 'X=1'])
  const spec = await waitFor(async () => {
    const s = (await store.snapshot()).services.get('web')
    return s?.version === 2 ? s : null
  }, { what: 'update written' })
  await waitFor(() => cli.out().includes('overall progress: 0 out of 1 tasks'), { what: 'progress' })
  const paused: ServiceSpec = { ...spec, updateState: 'paused', updateMessage: 'update paused due to failure or early termination of task web.1' }
  await store.write([{ type: 'service', id: 'web', value: paused }])
  const res = await cli.done
  t.equal(res.code, 1)
  t.equal(res.stderr, 'mesh: error: service web: update paused due to failure or early termination of task web.1 (see mesh service ps web)\n')

  const slow = await mesh(r.url, ['service', 'scale', 'web=3', '--timeout', '700ms'])
  t.equal(slow.code, 1)
  t.match(slow.stdout, /^web scaled to 3\n/)
  t.match(slow.stderr, /^mesh: error: service web did not converge within 700ms \(0 of 3 tasks running\)/)
})
