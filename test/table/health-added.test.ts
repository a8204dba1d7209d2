import t from 'tap'
import { staticTaskId } from '../../lib/registry/ids'
import { Backend } from '../helpers/backend'
import { httpGet, meshOk } from '../helpers/mesh'
import { meshScenario } from '../helpers/scenario'
import { waitFor } from '../helpers/wait'

/** GETs `url` about every 3 ms while `until()` is false (at most `max` requests): the answers, in order. */
async function loadUntil (url: string, until: () => Promise<boolean>, max = 2000): Promise<string[]> {
  return (await timedLoadUntil(url, until, max)).map((a) => a.answer)
}

/** The same, with when each request was sent (Date.now()). */
async function timedLoadUntil (url: string, until: () => Promise<boolean>, max = 2000): Promise<Array<{ answer: string, sentAt: number }>> {
  const answers: Array<{ answer: string, sentAt: number }> = []
  while (answers.length < max && !(await until())) {
    const sentAt = Date.now()
    const r = await httpGet(url).catch((err: Error) => ({ status: 0, body: err.message }))
    answers.push({ answer: r.status === 200 ? r.body.trim() : `HTTP ${r.status}`, sentAt })
    await new Promise((resolve) => setTimeout(resolve, 3))
  }
  return answers
}

t.test('adding a health check to a live service keeps its endpoints in rotation; a new endpoint waits for its first passing check', async (t) => {
  const { redis, backends: [a, b], nodes: [node] } = await meshScenario(t, { backends: ['a', 'b'] })
  await meshOk(['service', 'create', '--name', 'web', '--publish', '8080:80', '--endpoint', a.address, '--endpoint', b.address], redis.url)
  const url = `http://${node.addr}:8080/`
  await waitFor(async () => (await httpGet(url)).status === 200, { what: 'web served' })
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  const spec = JSON.parse(await client.hget('mesh:services', 'web') as string) as { id: string }
  const verdict = async (host: string, port: number): Promise<string | null> => await client.hget('mesh:health', staticTaskId(spec.id, host, port))

  // The first probe takes 1.5 s to pass: long enough that an endpoint waiting for it would be seen missing.
  const check = ['--health-path', '/slow?ms=1500', '--health-timeout', '3s', '--health-interval', '10s']
  const added = meshOk(['service', 'update', 'web', ...check], redis.url)
  const during = await loadUntil(url, async () => (await verdict(a.host, a.port)) !== null && (await verdict(b.host, b.port)) !== null)
  await added
  const failed = during.filter((x) => x !== 'a' && x !== 'b')
  t.comment(`${during.length} requests while the first checks ran: ${failed.length} not answered by a or b`)
  t.same(failed, [], 'no request failed while the check was added')
  t.ok(during.includes('a') && during.includes('b'), 'both endpoints stayed in rotation')
  t.match(JSON.parse(await verdict(a.host, a.port) as string), { status: 'healthy' }, 'and then passed their first check')

  const c = await Backend.start('c')
  t.teardown(async () => { await c.close() })
  await meshOk(['service', 'update', 'web', '--endpoint-add', c.address], redis.url)
  const beforeVerdict = await timedLoadUntil(url, async () => (await verdict(c.host, c.port)) !== null)
  // The loop reads the verdict before each request, and a request takes its time to arrive: one sent just
  // before the check passed may reach the node after. What must never be: c answering a request sent well
  // before (its check takes 1.5 s; an endpoint in rotation early would answer every third request of them).
  const passedAt = (JSON.parse(await verdict(c.host, c.port) as string) as { at: number }).at
  t.comment(`${beforeVerdict.length} requests before the new endpoint's first check passed`)
  t.same(beforeVerdict.filter((x) => x.answer === 'c' && x.sentAt < passedAt - 200), [], 'the new endpoint took no request sent before its first check passed')
  t.same(beforeVerdict.map((x) => x.answer).filter((x) => x !== 'a' && x !== 'b' && x !== 'c'), [], 'and nothing failed meanwhile')
  await waitFor(async () => (await httpGet(url)).body === 'c\n', { what: 'c in rotation after its first passing check' })
  t.pass('the new endpoint takes traffic once its check passed')
})
