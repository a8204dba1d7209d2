import t from 'tap'
import { spawn } from 'node:child_process'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'
import { MAIN, mesh } from './mesh'

t.test('service logs: aligned prefixes, --tail, -f until SIGINT', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const redis = r.client()
  t.teardown(() => { redis.disconnect() })
  const res = await mesh(r.url, ['service', 'create', '--name', 'nginx1', '--replicas', '2', '--detach', '--', 'mesh', 'whoami'])
  t.equal(res.code, 0, res.stderr)
  const add = async (task: string, name: string, node: string, line: string): Promise<void> => {
    await redis.xadd('mesh:logs:nginx1', '*', 'task', task, 'name', name, 'node', node, 'stream', 'stdout', 'line', line)
  }
  await add('q53jgeeq7y1xaaaaaaaaaaaaa', 'nginx1.4', 'node3', 'first')
  await add('lfz1bhl6v77raaaaaaaaaaaaa', 'nginx1.12', 'node2', 'second')
  await add('xj271k2829uzaaaaaaaaaaaaa', 'nginx1.5', 'node1', 'third')

  const all = await mesh(r.url, ['service', 'logs', 'nginx1'])
  t.equal(all.code, 0, all.stderr)
  t.equal(all.stdout, [
    'nginx1.4.q53jgeeq7y1x@node3     | first',
    'nginx1.12.lfz1bhl6v77r@node2    | second',
    'nginx1.5.xj271k2829uz@node1     | third'
  ].join('\n') + '\n')
  const tail = await mesh(r.url, ['service', 'logs', '--tail', '1', 'nginx1'])
  t.equal(tail.stdout, 'nginx1.5.xj271k2829uz@node1    | third\n')
  const bad = await mesh(r.url, ['service', 'logs', '--tail', 'x', 'nginx1'])
  t.match(bad, { code: 2, stderr: /--tail: "x" is not a whole number/ })

  const child = spawn(process.execPath, [MAIN, 'service', 'logs', '-f', '--tail', '0', 'nginx1'],
    { env: { ...process.env, NODE_OPTIONS: '', MESH_REDIS_URL: r.url }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  const exited = new Promise<number | null>((resolve) => { child.once('close', resolve) })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  // Lines written after it started appear; keep writing until the follower is attached.
  await waitFor(async () => {
    await add('q53jgeeq7y1xaaaaaaaaaaaaa', 'nginx1.4', 'node3', 'live')
    return out.includes('nginx1.4.q53jgeeq7y1x@node3    | live\n')
  }, { what: 'followed line', interval: 100 })
  t.notMatch(out, /first|third/, '--tail 0 skips history')

  // Redis away under -f: one line, retried, the follow goes on where it was.
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  await redis.save()
  await r.stop()
  await waitFor(() => err.includes('retrying'), { what: 'the outage line' })
  await r.start()
  await waitFor(async () => {
    await add('xj271k2829uzaaaaaaaaaaaaa', 'nginx1.5', 'node1', 'back')
    return out.includes('nginx1.5.xj271k2829uz@node1    | back\n')
  }, { what: 'a line after the outage', interval: 200 })
  // ECONNRESET when the reconnect raced the dying server's listen queue.
  t.match(err, new RegExp(`^mesh: registry unreachable at ${r.url}: (ECONNREFUSED|ECONNRESET); retrying every 2 s\nmesh: registry reachable again at ${r.url}\n$`))
  child.kill('SIGINT')
  t.equal(await exited, 0, 'SIGINT ends -f cleanly')
})
