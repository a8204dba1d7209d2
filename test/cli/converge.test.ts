/**
 * The converge display as a user sees it while the scheduler and agents
 * work (played here by writing the task records they would write): counts
 * right when scaling down and during an update, a task that cannot start
 * shows its error and ends the command, no bars above 20 replicas, redraws
 * and colour only on a terminal (NO_COLOR honoured), and a registry that
 * goes away meanwhile is waited for in one sentence.
 */
import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'
import { RegistryStore } from '../../lib/registry/store'
import type { ServiceSpec, TaskRecord } from '../../lib/registry/types'
import { MAIN, mesh, type Result } from './mesh'
import { task } from './records'

interface Cli { out: () => string, err: () => string, done: Promise<Result> }

/** Starts the CLI; with `tty`, on a pseudo-terminal (util-linux script), stdout and stderr both in `out`. */
function start (url: string, args: string[], o: { tty?: boolean, env?: NodeJS.ProcessEnv } = {}): Cli {
  const env = { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: url, NO_COLOR: '', ...o.env }
  const quote = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`
  const child = o.tty === true
    ? spawn('script', ['-qec', [process.execPath, MAIN, ...args].map(quote).join(' '), '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const done = new Promise<Result>((resolve) => { child.once('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) }) })
  return { out: () => stdout, err: () => stderr, done }
}

async function setup (t: Test): Promise<{ r: TestRedis, store: RegistryStore }> {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  return { r, store: new RegistryStore(redis, 'mesh:') }
}

async function service (store: RegistryStore, name: string): Promise<ServiceSpec> {
  return await waitFor(async () => (await store.snapshot()).services.get(name), { what: `service ${name}` })
}

const running = (spec: ServiceSpec, slot: number, over: Partial<TaskRecord> = {}): TaskRecord =>
  task({ serviceId: spec.id, service: spec.name, id: `t${slot}v${spec.version}`, slot, specVersion: spec.version, ...over })

t.test('scaling 5 -> 3 counts 3 out of 3, not 5 out of 3', async (t) => {
  const { r, store } = await setup(t)
  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--replicas', '5', '--update-monitor', '300ms', '-d', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const spec = await service(store, 'web')
  await store.write([1, 2, 3, 4, 5].map((slot) => ({ type: 'task' as const, id: `t${slot}v1`, value: running(spec, slot) })))

  const cli = start(r.url, ['service', 'scale', 'web=3'])
  await waitFor(() => cli.out().includes('overall progress: 3 out of 3 tasks'), { what: 'the first frame' })
  t.notMatch(cli.out(), /verify:/, 'not converged while slots 4 and 5 are still desired running')
  await store.write([4, 5].map((slot) => ({ type: 'task' as const, id: `t${slot}v1`, value: running(spec, slot, { desired: 'shutdown' }) })))
  const res = await cli.done
  t.equal(res.code, 0, res.stderr)
  t.notMatch(res.stdout, /[4-9] out of 3 tasks/, 'never more running than wanted')
  t.notMatch(res.stdout, /^[45]\/3:/m, 'no rows for the slots being removed')
  t.match(res.stdout, /^3\/3: running {3}\[={50}>\]$/m)
  t.equal(res.stdout.trimEnd().split('\n').at(-1), 'verify: Service converged')
})

t.test('an update shows the new tasks\' progress, not full bars of the old ones', async (t) => {
  const { r, store } = await setup(t)
  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--replicas', '2', '--update-monitor', '300ms', '-d', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const v1 = await service(store, 'web')
  await store.write([1, 2].map((slot) => ({ type: 'task' as const, id: `t${slot}v1`, value: running(v1, slot) })))

  const cli = start(r.url, ['service', 'update', 'web', '--env-add', 'V=2'])
  const v2 = await waitFor(async () => { const s = await service(store, 'web'); return s.version === 2 ? s : null }, { what: 'the update written' })
  await waitFor(() => cli.out().includes('overall progress: 0 out of 2 tasks\n1/2:\n2/2:\n'), { what: 'the first frame: no new task yet' })
  await store.write([
    { type: 'task', id: 't1v1', value: running(v1, 1, { desired: 'shutdown', state: 'shutdown' }) },
    { type: 'task', id: 't1v2', value: running(v2, 1, { state: 'starting' }) }
  ])
  await waitFor(() => cli.out().includes('1/2: starting  [============================================>      ]\n'), { what: 'slot 1\'s new task starting' })
  await store.write([{ type: 'task', id: 't1v2', value: running(v2, 1) }])
  await waitFor(() => cli.out().includes('overall progress: 1 out of 2 tasks\n1/2: running   [==================================================>]\n'), { what: 'slot 1 done' })
  t.notMatch(cli.out(), /2\/2: running/, 'slot 2 (still the old task) shows no bar')
  await store.write([
    { type: 'task', id: 't2v1', value: running(v1, 2, { desired: 'shutdown', state: 'shutdown' }) },
    { type: 'task', id: 't2v2', value: running(v2, 2) }
  ])
  const res = await cli.done
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /overall progress: 2 out of 2 tasks\n/)
  t.equal(res.stdout.trimEnd().split('\n').at(-1), 'verify: Service converged')
})

t.test('a task that cannot start: its error in its row, exit 1 one update monitor later', async (t) => {
  const { r, store } = await setup(t)
  const error = 'spawn /opt/nope ENOENT'
  for (const tty of [false, true]) {
    for (const noColor of tty ? ['', '1'] : ['']) {
      const name = `web${tty ? 't' : ''}${noColor}`
      const cli = start(r.url, ['service', 'create', '--name', name, '--update-monitor', '1s', '--', '/opt/nope'], { tty, env: { NO_COLOR: noColor } })
      const spec = await service(store, name)
      await waitFor(() => cli.out().includes('overall progress: 0 out of 1 tasks'), { what: 'the first frame' })
      // The agent's report, then the scheduler's replacement waiting out its back-off.
      await store.write([{ type: 'task', id: `${name}a`, value: running(spec, 1, { id: `${name}a`, state: 'failed', desired: 'shutdown', error, createdAt: spec.updatedAt + 1 }) }])
      const failedAt = Date.now()
      await store.write([{ type: 'task', id: `${name}b`, value: running(spec, 1, { id: `${name}b`, state: 'assigned', createdAt: spec.updatedAt + 2 }) }])
      const res = await cli.done
      const took = Date.now() - failedAt
      const out = tty ? res.stdout.replaceAll('\r\n', '\n') : res.stdout
      t.equal(res.code, 1, `${tty ? 'tty' : 'pipe'}: exit 1`)
      t.ok(took >= 900 && took < 5000, `${tty ? 'tty' : 'pipe'}: ended one update monitor (1 s) after the failure (${took} ms), not at the 60 s timeout`)
      // Off a terminal the error line is on stderr; script(1) puts both on the terminal.
      t.match(tty ? out : res.stderr, new RegExp(`(\x1b\\[31m)?mesh: error:(\x1b\\[0m)? service ${name}: task ${name}\\.1 \\(${name}a\\) failed: spawn /opt/nope ENOENT; ` +
        'not running 1s later \\(the update monitor\\), the scheduler keeps retrying it'))
      if (!tty) {
        t.match(out, /^1\/1: spawn \/opt\/nope ENOENT$/m, 'the error in the row')
        t.notMatch(out, /\x1b/, 'no escape sequences off a terminal')
        t.equal(res.stderr.split('\n').length, 2, 'one error line')
      } else {
        t.match(out, /\x1b\[\d+A/, 'redrawn in place on a terminal')
        if (noColor === '') t.match(out, /1\/1: \x1b\[31mspawn \/opt\/nope ENOENT\x1b\[0m/, 'the error in red on a terminal')
        else {
          t.match(out, /1\/1: spawn \/opt\/nope ENOENT/)
          t.notMatch(out, /\x1b\[3\dm/, 'NO_COLOR: no colour at all')
        }
      }
    }
  }
})

t.test('above 20 replicas only the overall line, as docker', async (t) => {
  const { r } = await setup(t)
  const res = await mesh(r.url, ['service', 'create', '--name', 'big', '--replicas', '25', '--timeout', '500ms', '--', 'mesh', 'whoami'])
  t.equal(res.code, 1, 'timed out (no scheduler here)')
  t.match(res.stdout, /\noverall progress: 0 out of 25 tasks\n/)
  t.notMatch(res.stdout, /^\d+\/25:/m, 'no per-slot rows')
})

t.test('the registry away during a watch: one sentence, retried every 2 s, then converged', async (t) => {
  const { r, store } = await setup(t)
  const created = await mesh(r.url, ['service', 'create', '--name', 'web', '--update-monitor', '300ms', '-d', '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const spec = await service(store, 'web')
  const cli = start(r.url, ['service', 'scale', 'web=2'])
  await waitFor(() => cli.out().includes('overall progress: 0 out of 2 tasks'), { what: 'watching' })
  await store.redis.save()
  await r.stop()
  await waitFor(() => cli.err().includes('retrying'), { what: 'the outage line' })
  await r.start() // the saved registry comes back
  await store.write([1, 2].map((slot) => ({ type: 'task' as const, id: `t${slot}v1`, value: running(spec, slot) })))
  const res = await cli.done
  t.equal(res.code, 0, res.stderr)
  // ECONNRESET when the reconnect raced the dying server's listen queue.
  t.match(res.stderr, new RegExp(`^mesh: registry unreachable at ${r.url}: (ECONNREFUSED|ECONNRESET); retrying every 2 s\nmesh: registry reachable again at ${r.url}\n$`))
  t.notMatch(res.stderr, /Connection is closed|max retries|ioredis/i, 'none of the client library\'s wording')
  t.equal(res.stdout.trimEnd().split('\n').at(-1), 'verify: Service converged')

  // A one-shot command whose registry is gone says so in the same words.
  await r.stop()
  const ls = await mesh(r.url, ['service', 'ls'])
  t.equal(ls.code, 1)
  t.match(ls.stderr, new RegExp(`^mesh: error: cannot reach the registry at redis://127\\.0\\.0\\.1:${r.port} \\(ECONNREFUSED\\); start redis-server`))
})
