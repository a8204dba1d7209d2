/**
 * The Swarm lab's step 1 and step 5 as the README prints them, each node in
 * a directory of its own (its own "machine"): `mesh init` on node1, the
 * printed `mesh join` line on node2 and node3, `mesh node ls` with three
 * Ready nodes and the Leader; then `mesh leave` on node3: its task moves to
 * node1 or node2 and no request through them fails meanwhile.
 */
import { request } from 'node:http'
import t from 'tap'
import { FAST_FLAGS, Lab } from '../helpers/membership'
import { freePort } from '../helpers/ports'
import { waitFor } from '../helpers/wait'

async function get (host: string, port: number): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: body.trim() }) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end()
  })
}

t.test('the lab: init on node1, join on node2 and node3 with the printed command, leave on node3', async (t) => {
  const lab = await Lab.start(t)
  const node1 = lab.machine()
  const init = await node1.mesh(['init', '--advertise', '127.0.0.1', '--name', 'node1', ...FAST_FLAGS])
  t.equal(init.code, 0, init.stderr)
  t.match(init.stdout, /^Cluster initialized: current node \(\w{25}\) is now a manager\.\n/)
  const printed = /^ {4}mesh (join --token \S+ \S+)$/m.exec(init.stdout)?.[1].split(' ') ?? []
  t.equal(printed.length, 4, `the join line: mesh ${printed.join(' ')}`)
  const state = node1.state()
  t.ok(state?.redisPid !== undefined, 'init started the registry (no --redis)')
  ;(lab as unknown as { token: string, address: string }).address = printed[3]

  const [node2, node3] = [lab.machine(), lab.machine()]
  for (const [i, m] of [node2, node3].entries()) {
    const r = await m.mesh([...printed, '--advertise', `127.0.0.${i + 2}`, '--name', `node${i + 2}`, ...FAST_FLAGS])
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'This node joined a cluster as a worker.\n')
  }
  const ls = await node1.mesh(['node', 'ls'])
  t.equal(ls.stdout.match(/ Ready /g)?.length, 3, 'three Ready nodes')
  t.match(ls.stdout, new RegExp(`^${state?.id ?? ''} \\* +node1 +Ready +Active +Leader$`, 'm'), 'node1, marked *, is the Leader')
  t.match(ls.stdout, /^\w{25} +node2 +Ready +Active *$/m)
  t.match(ls.stdout, /^\w{25} +node3 +Ready +Active *$/m)

  const port = await freePort('127.0.0.1')
  const created = await node1.mesh(['service', 'create', '--name', 'nginx1', '--replicas', '3', '--publish', `${port}:80`, '--', 'mesh', 'whoami'])
  t.equal(created.code, 0, created.stderr)
  const tasks = async (): Promise<Array<{ name: string, node: string }>> => (await node1.mesh(['service', 'ps', 'nginx1'])).stdout.split('\n')
    .filter((l) => /^\w+ +nginx1\.\d /.test(l) && / Running +Running/.test(l)).map((l) => ({ name: /nginx1\.\d/.exec(l)?.[0] ?? '', node: /node\d/.exec(l)?.[0] ?? '' }))
  t.same((await tasks()).map((x) => x.node).sort(), ['node1', 'node2', 'node3'], 'one task on each node')
  for (const h of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
    const r = await waitFor(async () => { const x = await get(h, port); return x.status === 200 ? x : null }, { what: `an answer on ${h}` })
    t.match(r.body, /^nginx1\.\d$/, `the routing mesh answers on ${h}`)
  }

  // Step 5: node3 leaves; requests through node1 and node2 keep being answered.
  let stop = false
  const failed: string[] = []
  let ok = 0
  const load = (async () => {
    for (let i = 0; !stop && i < 20_000; i++) {
      const h = i % 2 === 0 ? '127.0.0.1' : '127.0.0.2'
      try {
        const r = await get(h, port)
        if (r.status === 200) ok++
        else failed.push(`${h}: ${r.status} ${r.body}`)
      } catch (err) {
        failed.push(`${h}: ${(err as Error).message}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  const t0 = Date.now()
  const left = await node3.mesh(['leave'])
  const took = Date.now() - t0
  t.equal(left.code, 0, left.stderr)
  t.equal(left.stdout, 'Node left the cluster.\n')
  const moved = await waitFor(async () => { const x = await tasks(); return x.length === 3 ? x : null }, { what: 'nginx1 back to 3 running tasks' })
  stop = true
  await load
  t.notOk(moved.some((x) => x.node === 'node3'), `its task was rescheduled on node1 or node2 (${moved.map((x) => `${x.name}@${x.node}`).join(', ')})`)
  t.match((await node1.mesh(['node', 'ls'])).stdout, /node3 +Down +Active/, 'node ls on the manager shows node3 Down')
  t.same(failed, [], `0 failed of ${ok} requests through node1 and node2 while node3 left`)
  t.comment(`mesh leave on node3 took ${took} ms; ${ok} requests through node1/node2 meanwhile, ${failed.length} failed`)
})
